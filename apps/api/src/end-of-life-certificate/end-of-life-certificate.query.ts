import { negotiate } from '@fastify/accept-negotiator';
import type { FastifyReply } from 'fastify';
import {
  accountStreamId,
  fold,
  isRegistered,
  subscriptionDecider,
  type SubscriptionEvent,
  subscriptionStreamId,
} from '@app/domain';
import type { EventStore, RecordedEvent } from '@app/event-store';
import {
  buildEndOfLifeCertificate,
  completedPurgeOf,
  type ReadModelProjector,
  type ReadStore,
  type ReceiptSigner,
  type SignedEndOfLifeCertificate,
  signEndOfLifeCertificate,
} from '@app/read-models';
import { ApiError } from '../http/api-error';

/** What the certificate is read from: the log, the receipt chain, the projector's position. */
export interface CertificateSources {
  /** The event store as the app reads it (upcast; personal fields are never copied). */
  log: EventStore;
  store: ReadStore;
  projector: ReadModelProjector;
  signer: ReceiptSigner;
  /** READ_MODEL_MAX_WAIT_MS: how long to wait for the projector to link the receipt. */
  maxWaitMs: number;
}

/**
 * D11: the signed end-of-life certificate of a subscription, from its stream, its account's
 * stream and its receipt's link in the chain. 404 NOT_FOUND for an unknown subscription; 409
 * INVALID_STATE before the purge has completed; 503 READ_MODEL_BEHIND (Retry-After: 1) while the
 * projector has not linked the purge receipt into the chain yet (normally milliseconds after the
 * purge): the certificate is never answered without its link.
 */
export async function endOfLifeCertificate(
  sources: CertificateSources,
  subscriptionId: string,
  reply: FastifyReply,
): Promise<SignedEndOfLifeCertificate> {
  const subscription = await sources.log.readStream(subscriptionStreamId(subscriptionId));
  const purge = completedPurgeOf(subscription);
  if (purge === 'not_registered')
    throw new ApiError('NOT_FOUND', `Subscription ${subscriptionId} does not exist.`);
  if (purge === 'not_purged') {
    const state = fold(subscriptionDecider, asDomain(subscription));
    const status = isRegistered(state) ? state.status : 'unknown';
    throw new ApiError(
      'INVALID_STATE',
      `Subscription ${subscriptionId} has no end-of-life certificate yet: it is ${status}; the certificate exists once its purge has completed.`,
      { status },
    );
  }
  const behind = async (message: string): Promise<never> => {
    const at = await sources.projector.position();
    void reply.header('retry-after', '1');
    throw new ApiError('READ_MODEL_BEHIND', message, {
      minPosition: purge.position.toString(),
      position: at?.toString() ?? null,
    });
  };
  if (!(await sources.projector.waitFor(purge.position, sources.maxWaitMs)))
    await behind(
      'The purge receipt is not in the signed receipt chain yet (the read models are behind the log); retry shortly.',
    );
  const rows = await sources.store.purgeReceipts({ subscriptionId }, { limit: 10 });
  const row = rows.find((r) => r.event_id === purge.eventId);
  if (!row || row.sequence === null || row.receipt_hash === null || row.previous_hash === null)
    return behind(
      'The purge receipt is not linked into the signed receipt chain yet; retry shortly.',
    );
  const accountId = (subscription[0]!.data as { accountId: string }).accountId;
  const account = await sources.log.readStream(accountStreamId(accountId));
  const certificate = buildEndOfLifeCertificate({
    subscription,
    account,
    receipt: {
      receiptId: row.event_id,
      sequence: Number(row.sequence),
      hash: row.receipt_hash,
      previousHash: row.previous_hash,
    },
  });
  return signEndOfLifeCertificate(certificate, sources.signer);
}

const asDomain = (events: readonly RecordedEvent[]): SubscriptionEvent[] =>
  events.map((e) => ({ type: e.type, data: e.data }) as SubscriptionEvent);

/**
 * Whether the Accept header prefers HTML to JSON (a browser does: `text/html,…,*\/*;q=0.8`).
 * JSON is the default: no header, `*\/*`, or a tie (the first supported value wins).
 */
export function prefersHtml(accept: string | undefined): boolean {
  return negotiate(accept ?? '', ['application/json', 'text/html']) === 'text/html';
}
