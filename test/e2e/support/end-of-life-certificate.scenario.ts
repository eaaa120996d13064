import { createPublicKey, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { HolderServer } from '../../integration/purge/fake-holder-server';
import {
  purge,
  registerAndCancel,
  runTermEnd,
  startAppWithHttpHolder,
  surveyComment,
  verification,
} from '../../integration/purge/purge-helpers';
import { advanceTo, auth, startApp, type TestApp, TOKENS } from '../../support/app-harness';

/**
 * D11: a subscription driven to its end on the real app and the controlled clock, the way the
 * end-of-life certificate's tests need it: cancelled through support (personal data in the
 * events), expired, its purge deferred by a legal hold on the account (a personal reason), the
 * hold released, the purge's verification finding data left at a real HTTP data holder once,
 * then verified and completed.
 */

export const HOLDER_SECRET = 'holder-secret-for-eol-certificates';

/** Every personal datum the scenario writes: none may appear in a certificate. */
export const PERSONAL_DATA = [
  verification.billingAdminEmail,
  verification.billingAddress,
  surveyComment,
  'Causa Bianchi contro Rossi, Tribunale di Roma',
  'Causa Bianchi chiusa con transazione',
];
const HOLD_REASON = PERSONAL_DATA[3]!;
const RELEASE_REASON = PERSONAL_DATA[4]!;
const OPERATOR = { actorId: 'ops_legal_3', role: 'user' };

export interface EndOfLifeWorld {
  t: TestApp;
  holder: HolderServer;
  close(): Promise<void>;
}

/** The real app with two data holders: the local one and a real HTTP holder ("recordings"). */
export async function startEndOfLifeWorld(): Promise<EndOfLifeWorld> {
  const holder = new HolderServer(HOLDER_SECRET);
  const { t, close } = await startAppWithHttpHolder(holder, HOLDER_SECRET, {
    timeoutMs: 1000,
    start: () => startApp({ logLevel: 'warn' }),
  });
  return { t, holder, close };
}

export type Stage = 'cancelled' | 'expired' | 'deferred' | 'verification_failed';

/**
 * Drives `subscriptionId` of `accountId` to purged; `at(stage)` runs at each stage on the way
 * (the tests ask for the certificate there). Returns the dates the cancellation answered.
 */
export async function driveToPurged(
  w: EndOfLifeWorld,
  subscriptionId: string,
  accountId: string,
  at: (stage: Stage) => Promise<void> = async () => undefined,
): Promise<{ expiresAt: string; purgeAt: string }> {
  const { t, holder } = w;
  const dates = await registerAndCancel(t, subscriptionId, accountId);
  await at('cancelled');
  await advanceTo(t, dates.expiresAt);
  await runTermEnd(t, subscriptionId);
  await at('expired');

  const hold = (method: 'POST' | 'DELETE', reason: string) =>
    t.app.inject({
      method,
      url: `/v1/accounts/${accountId}/legal-hold`,
      headers: auth(TOKENS.ops),
      payload: { reason, requestedBy: OPERATOR },
    });
  await advanceTo(t, new Date(Date.parse(dates.expiresAt) + 20 * 86_400_000).toISOString());
  const placed = await hold('POST', HOLD_REASON);
  if (placed.statusCode !== 200) throw new Error(`legal hold: ${placed.body}`);
  await advanceTo(t, dates.purgeAt);
  const deferred = await purge(t, subscriptionId);
  if (deferred.status !== 'deferred_by_legal_hold') throw new Error(JSON.stringify(deferred));
  await at('deferred');

  await advanceTo(t, new Date(Date.parse(dates.purgeAt) + 3 * 86_400_000).toISOString());
  const released = await hold('DELETE', RELEASE_REASON);
  if (released.statusCode !== 200) throw new Error(`release: ${released.body}`);
  // The recordings holder still finds 2 items after deleting (asked twice): recorded, still open.
  holder.leftover.set(subscriptionId, 2);
  holder.keepsLeftovers = true;
  const open = await purge(t, subscriptionId);
  if (open.status !== 'open') throw new Error(JSON.stringify(open));
  await at('verification_failed');

  holder.keepsLeftovers = false;
  await advanceTo(
    t,
    new Date(Date.parse(dates.purgeAt) + 3 * 86_400_000 + 3_600_000).toISOString(),
  );
  const done = await purge(t, subscriptionId);
  if (done.status !== 'purged') throw new Error(JSON.stringify(done));
  return dates;
}

/** Checks a certificate (or receipt) the way a third party would: Node crypto and canonicalize. */
export function signatureVerifies(
  document: Record<string, unknown>,
  publicKeyPem: string,
): boolean {
  const { signature, ...rest } = document as { signature: { value: string } };
  return verify(
    null,
    Buffer.from(canonicalize(rest)!, 'utf8'),
    createPublicKey(publicKeyPem),
    Buffer.from(signature.value, 'base64'),
  );
}
