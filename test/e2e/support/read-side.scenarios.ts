import { readFileSync } from 'node:fs';
import { PurgeProcess } from '@app/purge';
import { ReadDb, ReadModelProjector } from '@app/read-models';
import {
  advanceTo,
  auth,
  processTermEnd,
  type TestApp,
  registrationBody,
  startApp,
  TOKENS,
} from '../../support/app-harness';

const admin = { actorId: 'usr_admin', role: 'billing_admin' };
const PERSONAL = {
  email: 'grace.hopper@example.org',
  last4: '1906',
  address: '1 Cobol Court, Arlington',
  comment: 'We moved to another vendor, ask Grace',
};

/**
 * The read side over HTTP on the real app: list, audit, purges, confirmations and
 * read-your-writes. Run on SQLite and on PostgreSQL (same scenarios, `env` picks the read store).
 */
export function readSideScenarios(setup: {
  env: () => Record<string, string>;
  afterAll?: () => Promise<void>;
}): void {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ env: setup.env(), logLevel: 'warn' });
  });
  afterAll(async () => {
    await t?.close();
    await setup.afterAll?.();
  });

  const inject = (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    token: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) =>
    t.app.inject({
      method,
      url,
      headers: { ...auth(token), ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const register = async (body: Record<string, unknown>) => {
    const r = await inject('POST', '/v1/subscriptions', TOKENS.writer, registrationBody(body));
    expect(r.statusCode).toBe(201);
    return r.json<{ position: string; expiresAt: string | null }>();
  };
  const cancel = async (id: string, body: Record<string, unknown> = {}, headers = {}) =>
    inject(
      'POST',
      `/v1/subscriptions/${id}/cancellation`,
      TOKENS.writer,
      { requestedBy: admin, channel: 'self_service', ...body },
      headers,
    );
  const supportCancel = (id: string, headers = {}) =>
    cancel(
      id,
      {
        channel: 'support',
        survey: { reason: 'switched_service', comment: PERSONAL.comment },
        verification: {
          billingAdminEmail: PERSONAL.email,
          paymentLast4: PERSONAL.last4,
          billingAddress: PERSONAL.address,
        },
      },
      headers,
    );
  const audit = (query: string, headers: Record<string, string> = {}) =>
    inject('GET', `/v1/audit/events?${query}`, TOKENS.auditor, undefined, headers);

  it("R16: lists an account's subscriptions; a cancelled one stays active, pending until expiresAt; expired ones apart", async () => {
    await register({ accountId: 'acc_r16', subscriptionId: 'r16_active' });
    await register({ accountId: 'acc_r16', subscriptionId: 'r16_pending' });
    await register({ accountId: 'acc_r16', subscriptionId: 'r16_expiring', autoRenew: false });
    await register({ accountId: 'acc_r16_other', subscriptionId: 'r16_other' });
    expect((await cancel('r16_pending')).statusCode).toBe(200);
    const expired = await processTermEnd(t, 'r16_expiring', '2026-02-28T00:00:00.000Z');
    const position = expired.position!.toString();

    const res = await inject(
      'GET',
      `/v1/accounts/acc_r16/subscriptions?minPosition=${position}`,
      TOKENS.reader,
    );
    expect(res.statusCode).toBe(200);
    expect(BigInt(res.headers['x-read-position'] as string)).toBeGreaterThanOrEqual(
      BigInt(position),
    );
    const items = res.json<{ items: Record<string, unknown>[] }>().items;
    expect(items.map((i) => [i['subscriptionId'], i['status'], i['section']])).toEqual([
      ['r16_active', 'active', 'active'],
      ['r16_pending', 'cancellation_pending', 'active'],
      ['r16_expiring', 'expired', 'expired'],
    ]);
    expect(items[1]).toMatchObject({
      accountId: 'acc_r16',
      autoRenew: false,
      expiresAt: '2026-02-27T23:00:00.000Z',
      pendingUntil: '2026-02-27T23:00:00.000Z',
      purgeAt: '2026-05-28T22:00:00.000Z',
      legalHold: false,
      revision: 2,
      plan: { kind: 'monthly' },
      currentTerm: { start: '2026-01-30T23:00:00.000Z', end: '2026-02-27T23:00:00.000Z' },
    });
    // The same Subscription resource as GET /v1/subscriptions/{id} (which reads the stream).
    const direct = await inject('GET', '/v1/subscriptions/r16_pending', TOKENS.reader);
    expect(items[1]).toEqual({ ...direct.json(), section: 'active' });

    const onlyExpired = await inject(
      'GET',
      '/v1/accounts/acc_r16/subscriptions?status=expired',
      TOKENS.reader,
    );
    expect(
      onlyExpired.json().items.map((i: { subscriptionId: string }) => i.subscriptionId),
    ).toEqual(['r16_expiring']);
    const two = await inject(
      'GET',
      '/v1/accounts/acc_r16/subscriptions?status=active&status=cancellation_pending',
      TOKENS.reader,
    );
    expect(two.json().items).toHaveLength(2);
    const comma = await inject(
      'GET',
      '/v1/accounts/acc_r16/subscriptions?status=active,expired',
      TOKENS.reader,
    );
    expect(comma.json().items).toHaveLength(2);
    const section = await inject(
      'GET',
      '/v1/accounts/acc_r16/subscriptions?section=expired',
      TOKENS.reader,
    );
    expect(section.json().items).toHaveLength(1);
    const none = await inject('GET', '/v1/accounts/acc_nobody/subscriptions', TOKENS.reader);
    expect([none.statusCode, none.json()]).toEqual([200, { items: [] }]);

    for (const url of [
      '/v1/accounts/acc_r16/subscriptions?status=cancelled',
      '/v1/accounts/acc_r16/subscriptions?statuss=active',
      '/v1/accounts/acc%20r16/subscriptions',
      '/v1/accounts/acc_r16/subscriptions?minPosition=-1',
      '/v1/accounts/acc_r16/subscriptions?section=pending',
    ]) {
      const bad = await inject('GET', url, TOKENS.reader);
      expect([url, bad.statusCode, bad.json().error.code]).toEqual([url, 400, 'VALIDATION_FAILED']);
    }
  });

  it('read-your-writes: ?minPosition= waits for the projection, 503 READ_MODEL_BEHIND after the bounded wait, 400 beyond the log', async () => {
    const projector = t.app.get(ReadModelProjector);
    await projector.stop();
    try {
      const { position } = await register({ accountId: 'acc_ryw', subscriptionId: 'ryw_1' });
      const behind = await inject(
        'GET',
        `/v1/accounts/acc_ryw/subscriptions?minPosition=${position}&maxWaitMs=50`,
        TOKENS.reader,
      );
      expect(behind.statusCode).toBe(503);
      expect(behind.headers['retry-after']).toBe('1');
      expect(behind.json().error).toMatchObject({
        code: 'READ_MODEL_BEHIND',
        details: { minPosition: position },
      });
      const auditBehind = await audit(`minPosition=${position}&maxWaitMs=0`);
      expect(auditBehind.json().error.code).toBe('READ_MODEL_BEHIND');

      // The query waits; the projector catches up meanwhile; the answer includes the write.
      const waiting = inject(
        'GET',
        `/v1/accounts/acc_ryw/subscriptions?minPosition=${position}`,
        TOKENS.reader,
      );
      setTimeout(() => projector.start(), 100);
      const res = await waiting;
      expect(res.statusCode).toBe(200);
      expect(res.json().items.map((i: { subscriptionId: string }) => i.subscriptionId)).toEqual([
        'ryw_1',
      ]);
    } finally {
      projector.start();
    }
    const beyond = await inject(
      'GET',
      '/v1/accounts/acc_ryw/subscriptions?minPosition=99999999999',
      TOKENS.reader,
    );
    expect([beyond.statusCode, beyond.json().error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('audit: filters (account, subscription, actor, type, from/to), oldest first, cursor pages; bad cursor and limit > 1000 are 400', async () => {
    await register({ accountId: 'acc_aud', subscriptionId: 'aud_1' });
    await register({ accountId: 'acc_aud', subscriptionId: 'aud_2' });
    await t.clock.advanceTo('2026-03-01T10:00:00.000Z');
    await register({ accountId: 'acc_aud', subscriptionId: 'aud_3' });
    const c = await cancel('aud_2', { requestedBy: { actorId: 'usr_aud', role: 'billing_admin' } });
    const position = c.json().position as string;

    const all = await audit(`accountId=acc_aud&minPosition=${position}`);
    expect(all.statusCode).toBe(200);
    const items = all.json().items as Record<string, unknown>[];
    expect(items.map((i) => [i['subscriptionId'], i['type']])).toEqual([
      ['aud_1', 'SubscriptionRegistered'],
      ['aud_2', 'SubscriptionRegistered'],
      ['aud_3', 'SubscriptionRegistered'],
      ['aud_2', 'CancellationRequested'],
      ['aud_2', 'AutoRenewDisabled'],
    ]);
    expect(all.json().hasMore).toBe(false);
    expect(all.json().nextCursor).toEqual(expect.any(String));
    const positions = items.map((i) => BigInt(i['position'] as string));
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    expect(items[3]).toMatchObject({
      streamId: 'subscription-aud_2',
      revision: 1,
      accountId: 'acc_aud',
      actor: { actorId: 'usr_aud', role: 'billing_admin' },
      channel: 'self_service',
      recordedAt: '2026-03-01T10:00:00.000Z',
      correlationId: expect.any(String),
      causationId: null,
      data: expect.objectContaining({ subscriptionId: 'aud_2', refund: 'none' }),
    });
    // The correlation id of the request is the one in the events it wrote.
    expect(items[3]!['correlationId']).toBe(c.headers['x-correlation-id']);

    const bySub = await audit(
      'subscriptionId=aud_2&type=CancellationRequested&type=AutoRenewDisabled',
    );
    expect(bySub.json().items.map((i: { type: string }) => i.type)).toEqual([
      'CancellationRequested',
      'AutoRenewDisabled',
    ]);
    const comma = await audit('subscriptionId=aud_2&type=CancellationRequested,AutoRenewDisabled');
    expect(comma.json().items).toHaveLength(2);
    const byActor = await audit('actorId=usr_aud');
    expect(byActor.json().items).toHaveLength(2);
    const fromTo = await audit(
      'accountId=acc_aud&from=2026-03-01T11:00:00%2B01:00&to=2026-03-01T10:00:00.001Z',
    );
    expect(fromTo.json().items).toHaveLength(3);
    const before = await audit('accountId=acc_aud&to=2026-03-01T10:00:00.000Z');
    expect(before.json().items).toHaveLength(2);

    // Pages of 2: every event once, in order; hasMore false on the last one; an empty page
    // after it has nextCursor null.
    const seen: string[] = [];
    const more: boolean[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page = await audit(`accountId=acc_aud&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.statusCode).toBe(200);
      if (page.json().items.length === 0) {
        expect(page.json()).toEqual({ items: [], nextCursor: null, hasMore: false });
        break;
      }
      seen.push(...page.json().items.map((i: { position: string }) => i.position));
      more.push(page.json().hasMore as boolean);
      cursor = page.json().nextCursor as string;
    }
    expect([seen, more]).toEqual([items.map((i) => i['position']), [true, true, false]]);

    for (const q of [
      'limit=1001',
      'limit=0',
      'limit=ten',
      'cursor=not-a-cursor',
      'cursor=eyJ2IjoxLCJrIjoiYXVkaXQtcHVyZ2VzIiwicCI6IjIifQ',
      'from=yesterday',
      'from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z',
      'accountId=a:b',
      'type=Not a type',
      'format=xml',
      'sort=desc',
    ]) {
      const bad = await audit(q);
      expect([q, bad.statusCode, bad.json().error.code]).toEqual([q, 400, 'VALIDATION_FAILED']);
    }
    expect((await audit('limit=1000')).statusCode).toBe(200);
  });

  it('D6: refusals are facts visible in the audit trail (code, rule, actor, channel)', async () => {
    await register({
      accountId: 'acc_d6',
      subscriptionId: 'd6_owing',
      outstandingBalance: { amount: '12.50', currency: 'EUR' },
    });
    const refused = await cancel('d6_owing');
    expect([refused.statusCode, refused.json().error.code]).toEqual([422, 'OUTSTANDING_BALANCE']);
    const res = await audit('subscriptionId=d6_owing&type=CancellationRefused');
    const head = await t.raw.headPosition();
    await audit(`minPosition=${head}`);
    const again = await audit('subscriptionId=d6_owing&type=CancellationRefused');
    expect(res.statusCode).toBe(200);
    expect(again.json().items).toHaveLength(1);
    expect(again.json().items[0]).toMatchObject({
      type: 'CancellationRefused',
      actor: admin,
      channel: 'self_service',
      data: {
        code: 'OUTSTANDING_BALANCE',
        rule: 'R6',
        requestedBy: admin,
        channel: 'self_service',
      },
    });
  });

  it('R17: personal fields are shown decrypted to audit:read while the key exists and "[erased]" after the erasure; never stored in plaintext', async () => {
    await register({ accountId: 'acc_r17', subscriptionId: 'r17_1', contract: true });
    const c = await supportCancel('r17_1');
    expect(c.statusCode).toBe(200);
    const q = `subscriptionId=r17_1&type=CancellationRequested&minPosition=${c.json().position}`;
    const shown = (await audit(q)).json().items[0];
    expect(shown.data).toMatchObject({
      verification: {
        billingAdminEmail: PERSONAL.email,
        paymentLast4: PERSONAL.last4,
        billingAddress: PERSONAL.address,
      },
      survey: { reason: 'switched_service', comment: PERSONAL.comment },
    });
    const readDb = t.app.get(ReadDb);
    if (readDb.file) {
      await readDb.compact();
      const bytes = readFileSync(readDb.file).toString('latin1');
      for (const secret of [PERSONAL.email, PERSONAL.address, PERSONAL.comment])
        expect(bytes).not.toContain(secret);
    }

    const erasure = await inject('POST', '/v1/accounts/acc_r17/erasure', TOKENS.ops, {
      reason: 'ticket GDPR-1234',
      requestedBy: { actorId: 'usr_dpo', role: 'user' },
    });
    expect(erasure.statusCode).toBe(200);
    expect(erasure.json().readModelRowsScrubbed).toBeGreaterThanOrEqual(1);
    const after = await audit(`subscriptionId=r17_1&minPosition=${erasure.json().position}`);
    const requested = after
      .json()
      .items.find((i: { type: string }) => i.type === 'CancellationRequested');
    expect(requested.data).toMatchObject({
      verification: {
        billingAdminEmail: '[erased]',
        paymentLast4: '[erased]',
        billingAddress: '[erased]',
      },
      survey: { reason: 'switched_service', comment: '[erased]' },
      // The audit trail keeps its structure.
      subscriptionId: 'r17_1',
      channel: 'support',
      expiresAt: shown.data.expiresAt,
    });
    const erased = await audit('accountId=acc_r17&type=PersonalDataErased');
    expect(erased.json().items).toHaveLength(1);
    expect(JSON.stringify(after.json())).not.toContain(PERSONAL.email);
  });

  it('R15: GET /v1/audit/purges shows each purge receipt: what was deleted, where, when and by which job', async () => {
    const reg = await register({ accountId: 'acc_r15', subscriptionId: 'r15_1', autoRenew: false });
    const expiresAt = reg.expiresAt!;
    await processTermEnd(t, 'r15_1', expiresAt);
    const expired = (await inject('GET', '/v1/subscriptions/r15_1', TOKENS.reader)).json();
    expect(expired.status).toBe('expired');
    const purgeAt = expired.purgeAt as string;
    await advanceTo(t, purgeAt);
    // As the purge job runs it (its steps are separate commands: no shared idempotency key).
    const outcome = await t.app.get(PurgeProcess).run('r15_1', {
      commandId: null,
      requestHash: null,
      correlationId: 'corr-purge-r15_1',
      causationId: 'job-purge-r15_1',
      actor: null,
      channel: 'system',
    });
    expect(outcome).toMatchObject({ status: 'purged' });
    const head = (await t.raw.headPosition())!.toString();
    const res = await inject(
      'GET',
      `/v1/audit/purges?accountId=acc_r15&minPosition=${head}`,
      TOKENS.auditor,
    );
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toHaveLength(1);
    const receipt = res.json().items[0];
    expect(receipt).toMatchObject({
      subscriptionId: 'r15_1',
      accountId: 'acc_r15',
      productId: 'goto-meeting',
      expiresAt,
      purgeAt,
      purgedAt: new Date(purgeAt).toISOString(),
      job: { correlationId: 'corr-purge-r15_1', causationId: 'job-purge-r15_1', channel: 'system' },
      receipt: {
        purgeId: expect.any(String),
        holders: expect.any(Array),
        keysShredded: expect.any(Array),
      },
    });
    expect(receipt.receipt.holders.length).toBeGreaterThan(0);
    expect(receipt.receipt.holders[0]).toMatchObject({
      holder: expect.any(String),
      location: expect.any(String),
    });
    const later = new Date(Date.parse(purgeAt) + 1).toISOString();
    const after = await inject('GET', `/v1/audit/purges?from=${later}`, TOKENS.auditor);
    expect(after.json().items).toEqual([]);
    const window = `from=${purgeAt}&to=${later}&subscriptionId=r15_1`;
    const within = await inject('GET', `/v1/audit/purges?${window}`, TOKENS.auditor);
    expect(within.json().items).toHaveLength(1);
    const bad = await inject('GET', '/v1/audit/purges?to=soon', TOKENS.auditor);
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'VALIDATION_FAILED']);
    // Listed as purged, apart from the active ones (R16).
    const listed = await inject(
      'GET',
      `/v1/accounts/acc_r15/subscriptions?minPosition=${head}`,
      TOKENS.reader,
    );
    expect(listed.json().items[0]).toMatchObject({
      status: 'purged',
      section: 'expired',
      purgedAt: new Date(purgeAt).toISOString(),
    });
  });

  it('R16: contract customers get a confirmation when their cancellation is recorded (outbox, once per event); others none', async () => {
    await register({ accountId: 'acc_conf', subscriptionId: 'conf_contract', contract: true });
    await register({ accountId: 'acc_conf', subscriptionId: 'conf_plain' });
    const first = await supportCancel('conf_contract', { 'idempotency-key': 'conf-1' });
    const replay = await supportCancel('conf_contract', { 'idempotency-key': 'conf-1' });
    expect([first.statusCode, replay.statusCode]).toEqual([200, 200]);
    const plain = await cancel('conf_plain');
    const res = await inject(
      'GET',
      `/v1/accounts/acc_conf/confirmations?minPosition=${plain.json().position}`,
      TOKENS.reader,
    );
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toHaveLength(1);
    expect(res.json().items[0]).toMatchObject({
      subscriptionId: 'conf_contract',
      accountId: 'acc_conf',
      subject: 'Cancellation of goto-meeting recorded',
      status: 'pending',
      body: expect.stringContaining(first.json().effectiveAt as string),
    });
    expect(JSON.stringify(res.json())).not.toContain(PERSONAL.email);
    expect(
      (await inject('GET', '/v1/accounts/acc_conf/confirmations?limit=0', TOKENS.reader))
        .statusCode,
    ).toBe(400);
  });

  it('NDJSON: Accept: application/x-ndjson or ?format=ndjson streams every match, one AuditEvent per line', async () => {
    for (let i = 0; i < 3; i++) await register({ accountId: 'acc_nd', subscriptionId: `nd_${i}` });
    const head = (await t.raw.headPosition())!.toString();
    await audit(`minPosition=${head}`);
    const byAccept = await audit('accountId=acc_nd&limit=1', { accept: 'application/x-ndjson' });
    const byFormat = await audit('accountId=acc_nd&format=ndjson');
    for (const res of [byAccept, byFormat]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const lines = res.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { subscriptionId: string });
      expect(lines.map((l) => l.subscriptionId)).toEqual(['nd_0', 'nd_1', 'nd_2']);
    }
    const json = await audit('accountId=acc_nd&format=json', { accept: 'application/x-ndjson' });
    expect(json.json().items).toHaveLength(3);
  });
}
