import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { documentHash } from '@app/read-models';
import { runOps } from '../integration/ops/ops-cli';
import { purge, registerAndCancel, runTermEnd } from '../integration/purge/purge-helpers';
import { advanceTo, auth, startApp, type TestApp, TOKENS } from '../support/app-harness';
import {
  driveToPurged,
  type EndOfLifeWorld,
  PERSONAL_DATA,
  signatureVerifies,
  startEndOfLifeWorld,
} from './support/end-of-life-certificate.scenario';

/**
 * D11 end to end: GET /v1/subscriptions/{id}/end-of-life-certificate on the real app, with a
 * subscription driven to its purge on the controlled clock (support cancellation, a legal hold
 * deferring the purge, a real HTTP data holder whose verification finds data once).
 */

const ID = 'sub_eol_e2e';
const ACC = 'acc_eol_e2e';
const url = (id: string) => `/v1/subscriptions/${id}/end-of-life-certificate`;

interface Certificate {
  subscriptionId: string;
  ending: { kind: string; requestedBy: { actorId: string; role: string }; channel: string };
  deferral: { holds: { holdId: string; placedBy: unknown; releasedAt: string | null }[] } | null;
  purge: { holders: { holder: string }[]; keysShredded: string[] };
  verification: { verified: boolean; failures: { holders: { remainingItems: number }[] }[] };
  receipt: { receiptId: string; sequence: number; hash: string; previousHash: string };
  timeline: { event: string }[];
  upToPosition: string;
  signature: { alg: string; kid: string; value: string };
  [key: string]: unknown;
}

describe('D11: the end-of-life certificate over HTTP', () => {
  let w: EndOfLifeWorld;
  let t: TestApp;
  const early: Record<string, { status: number; code?: string; details?: unknown }> = {};
  const get = (id: string, token: string | null = TOKENS.auditor, accept?: string) =>
    t.app.inject({
      method: 'GET',
      url: url(id),
      headers: { ...(token ? auth(token) : {}), ...(accept ? { accept } : {}) },
    });

  beforeAll(async () => {
    w = await startEndOfLifeWorld();
    t = w.t;
    await driveToPurged(w, ID, ACC, async (stage) => {
      const r = await get(ID);
      const body = r.json<{ error?: { code: string; details?: unknown } }>();
      early[stage] = { status: r.statusCode, code: body.error?.code, details: body.error?.details };
    });
  }, 60_000);
  afterAll(() => w?.close());

  it('D11: 409 INVALID_STATE before the purge has completed, at every stage on the way (with the status)', () => {
    expect(early).toEqual({
      cancelled: {
        status: 409,
        code: 'INVALID_STATE',
        details: { status: 'cancellation_pending' },
      },
      expired: { status: 409, code: 'INVALID_STATE', details: { status: 'expired' } },
      deferred: { status: 409, code: 'INVALID_STATE', details: { status: 'expired' } },
      verification_failed: {
        status: 409,
        code: 'INVALID_STATE',
        details: { status: 'expired' },
      },
    });
  });

  it('D11: 404 NOT_FOUND for an unknown subscription, 400 for a malformed id, in the error shape', async () => {
    const unknown = await get('sub_nobody');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({
      error: { code: 'NOT_FOUND', message: expect.stringContaining('sub_nobody') },
    });
    expect((await get('bad%20id')).statusCode).toBe(400);
  });

  it('D11: a query parameter (the route takes none) is a 400 VALIDATION_FAILED, not ignored', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `${url(ID)}?format=html`,
      headers: auth(TOKENS.auditor),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
  });

  it('D11: 401 without a token or with an unknown one, 403 FORBIDDEN_SCOPE without audit:read', async () => {
    expect((await get(ID, null)).statusCode).toBe(401);
    expect((await get(ID, 'tok-nobody')).statusCode).toBe(401);
    for (const token of [TOKENS.reader, TOKENS.writer, TOKENS.ops, TOKENS.events]) {
      const r = await get(ID, token);
      expect([token, r.statusCode, r.json<{ error: { code: string } }>().error.code]).toEqual([
        token,
        403,
        'FORBIDDEN_SCOPE',
      ]);
    }
  });

  it('D11: after the purge, the JSON certificate verifies with the public key of GET /v1/audit/receipt-keys; its receipt link is the receipt of GET /v1/audit/purges', async () => {
    const res = await get(ID);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['vary']).toMatch(/Accept/i);
    const c = res.json<Certificate>();
    const keyList = (
      await t.app.inject({
        method: 'GET',
        url: '/v1/audit/receipt-keys',
        headers: auth(TOKENS.auditor),
      })
    ).json<{ keys: { kid: string; publicKey: string }[] }>().keys;
    const key = keyList.find((k) => k.kid === c.signature.kid);
    expect(key).toBeDefined();
    expect(c.signature.alg).toBe('Ed25519');
    expect(signatureVerifies(c, key!.publicKey)).toBe(true);
    expect(signatureVerifies({ ...c, subscriptionId: 'sub_other' }, key!.publicKey)).toBe(false);

    const receipts = (
      await t.app.inject({
        method: 'GET',
        url: `/v1/audit/purges?subscriptionId=${ID}`,
        headers: auth(TOKENS.auditor),
      })
    ).json<{ items: Record<string, unknown>[] }>().items;
    expect(receipts).toHaveLength(1);
    const receipt = receipts[0]!;
    expect(c.receipt).toEqual({
      receiptId: receipt['receiptId'],
      sequence: receipt['sequence'],
      hash: documentHash(receipt),
      previousHash: receipt['previousHash'],
      position: receipt['position'],
    });
    expect(c.upToPosition).toBe(receipt['position']);
  });

  it('D11: ops verify-certificate checks the served certificate offline with the public key (exit 0), and names an altered copy (exit 1)', async () => {
    const body = (await get(ID)).body;
    const { keys } = (
      await t.app.inject({
        method: 'GET',
        url: '/v1/audit/receipt-keys',
        headers: auth(TOKENS.auditor),
      })
    ).json<{ keys: { publicKey: string }[] }>();
    const file = (name: string, text: string) => {
      const path = join(t.dataDir, name);
      writeFileSync(path, text);
      return path;
    };
    const key = file('receipt-key.pem', keys.map((k) => k.publicKey).join(''));
    const altered = body.replace('"channel":"support"', '"channel":"self_service"');
    expect(altered).not.toBe(body);
    const [ok, bad] = await Promise.all(
      [file('certificate.json', body), file('altered.json', altered)].map((path) =>
        runOps(['verify-certificate', path, '--public-key', key], { DATA_DIR: t.dataDir }),
      ),
    );
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok!.stdout).toContain(`OK: the end-of-life certificate of ${ID} is signed by`);
    expect(bad!.code).toBe(1);
    expect(bad!.stderr).toContain('altered.json: altered');
  }, 60_000);

  it('D11: the facts: cancelled by the support agent, the hold that deferred the purge, each holder, the keys, the finding then the verification', async () => {
    const c = (await get(ID)).json<Certificate>();
    expect(c).toMatchObject({
      subscriptionId: ID,
      accountId: ACC,
      ending: {
        kind: 'cancellation',
        requestedBy: { actorId: 'agent_7', role: 'billing_admin' },
        channel: 'support',
        notice: { noticeDeadline: null, noticeDeadlineMissed: false },
      },
      deferral: {
        reason: 'legal_hold',
        holds: [
          {
            placedBy: { actorId: 'ops_legal_3', role: 'user' },
            releasedAt: expect.any(String),
          },
        ],
      },
      purge: {
        holders: [{ holder: 'local' }, { holder: 'recordings' }],
        keysShredded: [`key-subscription-${ID}`],
      },
      verification: {
        verified: true,
        holders: [
          { holder: 'local', remainingItems: 0, method: 'marker_scan' },
          { holder: 'recordings', remainingItems: 0, method: 'http' },
        ],
        // Only the holder that found something is recorded as a finding.
        failures: [{ holders: [{ holder: 'recordings', remainingItems: 2, method: 'http' }] }],
      },
    });
    expect(c.timeline.map((e) => e.event)).toEqual([
      'SubscriptionRegistered',
      'CancellationRequested',
      'SubscriptionExpired',
      'LegalHoldPlaced',
      'PurgeDeferred',
      'LegalHoldReleased',
      'PurgeStarted',
      'ProductDataHolderPurged',
      'ProductDataHolderPurged',
      'PurgeVerificationFailed',
      'PurgeVerified',
      'ProductDataPurged',
    ]);
  });

  it('D11: deterministic (the same bytes on every request, also after later account events) and free of personal data', async () => {
    const first = (await get(ID)).body;
    // A later hold on the account is not part of this subscription's end.
    const later = await t.app.inject({
      method: 'POST',
      url: `/v1/accounts/${ACC}/legal-hold`,
      headers: auth(TOKENS.ops),
      payload: { reason: 'Another case', requestedBy: { actorId: 'ops_legal_3', role: 'user' } },
    });
    expect(later.statusCode).toBe(200);
    expect((await get(ID)).body).toBe(first);
    for (const personal of PERSONAL_DATA) expect(first).not.toContain(personal);
    const page = (await get(ID, TOKENS.auditor, 'text/html')).body;
    for (const personal of PERSONAL_DATA) expect(page).not.toContain(personal);
  });

  it("D11: Accept: text/html (or a browser's Accept) answers the printable page; JSON stays the default", async () => {
    for (const accept of [
      'text/html',
      'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    ]) {
      const res = await get(ID, TOKENS.auditor, accept);
      expect([accept, res.statusCode, res.headers['content-type']]).toEqual([
        accept,
        200,
        'text/html; charset=utf-8',
      ]);
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.body).toMatch(/^<!doctype html>/i);
      expect(res.body).toContain(ID);
      expect(res.body).not.toMatch(/<script|<link|<img|@import|url\(/i);
    }
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html'])
      expect([accept, (await get(ID, TOKENS.auditor, accept)).headers['content-type']]).toEqual([
        accept,
        expect.stringMatching(/^application\/json/),
      ]);
  });
});

describe('D11: the certificate is never answered without its link in the receipt chain', () => {
  let t: TestApp;
  beforeAll(async () => {
    // No projector in this process (another one would project): the receipt is never linked
    // here. The read models' settings are read from the process environment.
    const before = { ...process.env };
    process.env['READ_MODEL_PROJECTOR'] = 'off';
    process.env['READ_MODEL_MAX_WAIT_MS'] = '200';
    try {
      t = await startApp({ logLevel: 'warn' });
    } finally {
      for (const name of ['READ_MODEL_PROJECTOR', 'READ_MODEL_MAX_WAIT_MS'])
        if (before[name] === undefined) delete process.env[name];
        else process.env[name] = before[name];
    }
  });
  afterAll(() => t?.close());

  it('D11: purged but not yet linked by the projector: 503 READ_MODEL_BEHIND with Retry-After, never a certificate without its link', async () => {
    const { expiresAt, purgeAt } = await registerAndCancel(t, 'sub_eol_unlinked', 'acc_eol_u');
    await advanceTo(t, expiresAt);
    await runTermEnd(t, 'sub_eol_unlinked');
    await advanceTo(t, purgeAt);
    expect(await purge(t, 'sub_eol_unlinked')).toMatchObject({ status: 'purged' });
    const res = await t.app.inject({
      method: 'GET',
      url: url('sub_eol_unlinked'),
      headers: auth(TOKENS.auditor),
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toMatchObject({
      error: {
        code: 'READ_MODEL_BEHIND',
        message: expect.stringContaining('receipt chain'),
        details: { minPosition: expect.stringMatching(/^\d+$/) },
      },
    });
  });
});
