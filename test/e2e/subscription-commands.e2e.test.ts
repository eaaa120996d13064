import type { EventStore } from '@app/event-store';
import { EVENT_STORE } from '@app/infrastructure';
import { auth, registrationBody, startApp, type TestApp, TOKENS } from '../support/app-harness';
import {
  dropSchema,
  freshSchema,
  urlWithSchema,
} from '../integration/read-models/support/postgres';

/**
 * The same HTTP contract on the embedded stores and on the production shape's (the event log
 * and the shared state in PostgreSQL, each in a schema of its own, dropped after).
 */
const log = freshSchema('es_e2e');
const shared = freshSchema('rm_e2e');
const shapes: Array<[string, Record<string, string>, () => Promise<void>]> = [
  ['real SQLite', {}, async () => undefined],
  [
    'PostgreSQL log and shared state',
    { EVENTSTORE_URL: urlWithSchema(log), READ_DB_URL: urlWithSchema(shared) },
    async () => {
      await dropSchema(log);
      await dropSchema(shared);
    },
  ],
];
describe.each(shapes)('subscription commands over HTTP (real app, %s)', (_label, env, drop) => {
  let t: TestApp;
  let store: EventStore;
  beforeAll(async () => {
    t = await startApp({ env });
    store = t.app.get(EVENT_STORE);
  });
  afterAll(async () => {
    await t.close();
    await drop();
  });

  const post = (
    url: string,
    payload: unknown,
    headers: Record<string, string> = auth(TOKENS.writer),
  ) => t.app.inject({ method: 'POST', url, payload: payload as object, headers });
  const eventsOf = async (id: string) =>
    (await store.readStream(`subscription-${id}`)).map((e) => e.type);
  const billingAdmin = { actorId: 'usr_1', role: 'billing_admin' };

  it('registers (201) and cancels (200) with the response of docs/http-api.md', async () => {
    const reg = await post('/v1/subscriptions', registrationBody({ subscriptionId: 'sub_a' }));
    expect(reg.statusCode).toBe(201);
    expect(reg.json()).toMatchObject({
      subscriptionId: 'sub_a',
      status: 'active',
      autoRenew: true,
      revision: 0,
      legalHold: false,
    });
    const res = await post('/v1/subscriptions/sub_a/cancellation', {
      requestedBy: billingAdmin,
      channel: 'self_service',
      survey: { reason: 'unused' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      subscription: {
        status: 'cancellation_pending',
        autoRenew: false,
        expiresAt: '2026-02-27T23:00:00.000Z',
      },
      effectiveAt: '2026-02-27T23:00:00.000Z',
      purgeAt: '2026-05-28T22:00:00.000Z',
      refund: 'none',
      noticeDeadlineMissed: false,
      events: ['CancellationRequested', 'AutoRenewDisabled'],
    });
    const again = await post('/v1/subscriptions/sub_a/cancellation', {
      requestedBy: billingAdmin,
      channel: 'self_service',
    });
    expect(again.json().events).toEqual([]);
  });

  it('D6: a refusal by policy answers its code and is recorded as one CancellationRefused', async () => {
    await post(
      '/v1/subscriptions',
      registrationBody({
        subscriptionId: 'sub_owing',
        outstandingBalance: { amount: '9.99', currency: 'EUR' },
      }),
    );
    const res = await post('/v1/subscriptions/sub_owing/cancellation', {
      requestedBy: billingAdmin,
      channel: 'self_service',
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      error: { code: 'OUTSTANDING_BALANCE', message: expect.stringMatching(/9\.99 EUR/) },
    });
    expect(await eventsOf('sub_owing')).toEqual(['SubscriptionRegistered', 'CancellationRefused']);
  });

  it('R7/R8: contact support (422), R4: forbidden role (403), R11: trial (422)', async () => {
    await post(
      '/v1/subscriptions',
      registrationBody({ subscriptionId: 'sub_room', productId: 'goto-room' }),
    );
    const room = await post('/v1/subscriptions/sub_room/cancellation', {
      requestedBy: billingAdmin,
      channel: 'self_service',
    });
    expect([room.statusCode, room.json().error.code]).toEqual([422, 'CONTACT_SUPPORT']);
    const role = await post('/v1/subscriptions/sub_room/cancellation', {
      requestedBy: { actorId: 'u', role: 'intern' },
      channel: 'self_service',
    });
    expect([role.statusCode, role.json().error.code]).toEqual([403, 'FORBIDDEN_ROLE']);
    await post(
      '/v1/subscriptions',
      registrationBody({
        subscriptionId: 'sub_trial',
        plan: { kind: 'trial', trialDays: 14 },
        termStart: '2026-02-01T00:00:00+01:00',
      }),
    );
    const trial = await post('/v1/subscriptions/sub_trial/cancellation', {
      requestedBy: billingAdmin,
      channel: 'self_service',
    });
    expect([trial.statusCode, trial.json().error.code]).toEqual([
      422,
      'TRIAL_NEEDS_NO_CANCELLATION',
    ]);
  });

  it('malformed requests get VALIDATION_FAILED and write nothing', async () => {
    await post('/v1/subscriptions', registrationBody({ subscriptionId: 'sub_v' }));
    const noVerification = await post('/v1/subscriptions/sub_v/cancellation', {
      requestedBy: billingAdmin,
      channel: 'support',
    });
    expect([noVerification.statusCode, noVerification.json().error.code]).toEqual([
      400,
      'VALIDATION_FAILED',
    ]);
    const unknownField = await post('/v1/subscriptions/sub_v/cancellation', {
      requestedBy: billingAdmin,
      channel: 'self_service',
      refund: 'all',
    });
    expect(unknownField.statusCode).toBe(400);
    const badProduct = await post(
      '/v1/subscriptions',
      registrationBody({ subscriptionId: 'sub_bad', productId: 'teleport' }),
    );
    expect([badProduct.statusCode, badProduct.json().error.code]).toEqual([
      400,
      'VALIDATION_FAILED',
    ]);
    const badZone = await post(
      '/v1/subscriptions',
      registrationBody({ subscriptionId: 'sub_bad', timeZone: 'Mars/Base' }),
    );
    expect([badZone.statusCode, badZone.json().error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const badJson = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions',
      payload: '{"accountId":',
      headers: { ...auth(TOKENS.writer), 'content-type': 'application/json' },
    });
    expect([badJson.statusCode, badJson.json().error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(await eventsOf('sub_v')).toEqual(['SubscriptionRegistered']);
    expect(await eventsOf('sub_bad')).toEqual([]);
  });

  it('an oversized body is 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await post(
      '/v1/subscriptions',
      registrationBody({ subscriptionId: 'sub_big', accountId: 'x'.repeat(100_000) }),
    );
    expect([res.statusCode, res.json().error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('auth: no token 401, unknown token 401, wrong scope 403; health needs none', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/v1/subscriptions/sub_a' });
    expect([none.statusCode, none.json().error.code]).toEqual([401, 'UNAUTHENTICATED']);
    const unknown = await t.app.inject({
      method: 'GET',
      url: '/v1/subscriptions/sub_a',
      headers: auth('nope'),
    });
    expect(unknown.statusCode).toBe(401);
    const scope = await t.app.inject({
      method: 'GET',
      url: '/v1/subscriptions/sub_a',
      headers: auth(TOKENS.writer),
    });
    expect([scope.statusCode, scope.json().error.code]).toEqual([403, 'FORBIDDEN_SCOPE']);
    const read = await t.app.inject({
      method: 'GET',
      url: '/v1/subscriptions/sub_a',
      headers: auth(TOKENS.reader),
    });
    expect(read.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).json()).toMatchObject({
      status: 'ok',
    });
  });

  it('Idempotency-Key: the same request is answered again without writing; another body is IDEMPOTENCY_KEY_REUSED', async () => {
    const headers = { ...auth(TOKENS.writer), 'idempotency-key': 'reg-42' };
    const first = await post(
      '/v1/subscriptions',
      registrationBody({ accountId: 'acc_idem' }),
      headers,
    );
    const second = await post(
      '/v1/subscriptions',
      registrationBody({ accountId: 'acc_idem' }),
      headers,
    );
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json().subscriptionId).toBe(first.json().subscriptionId);
    expect(await eventsOf(first.json().subscriptionId)).toEqual(['SubscriptionRegistered']);
    const other = await post(
      '/v1/subscriptions',
      registrationBody({ accountId: 'acc_idem', autoRenew: false }),
      headers,
    );
    expect([other.statusCode, other.json().error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
  });

  it('Idempotency-Key across streams: a key is bound to its first stream and request, whatever stream the next body names, also under concurrency', async () => {
    const headers = { ...auth(TOKENS.all), 'idempotency-key': 'one-key' };
    const first = await post(
      '/v1/subscriptions',
      registrationBody({ subscriptionId: 'sub_k_a', accountId: 'acc_k' }),
      headers,
    );
    expect(first.statusCode).toBe(201);
    // The same key for another subscription: refused, nothing written.
    const otherStream = await post(
      '/v1/subscriptions',
      registrationBody({ subscriptionId: 'sub_k_b', accountId: 'acc_k' }),
      headers,
    );
    expect([otherStream.statusCode, otherStream.json().error.code]).toEqual([
      422,
      'IDEMPOTENCY_KEY_REUSED',
    ]);
    expect(await eventsOf('sub_k_b')).toEqual([]);
    // The same key on another route and stream (the account's legal hold): refused too.
    const hold = await post(
      '/v1/accounts/acc_k/legal-hold',
      { reason: 'litigation', requestedBy: { actorId: 'ops_1', role: 'support_agent' } },
      headers,
    );
    expect([hold.statusCode, hold.json().error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    expect((await store.readStream('account-acc_k')).map((e) => e.type)).toEqual([]);
    // The first request again: still answered as the first time.
    const again = await post(
      '/v1/subscriptions',
      registrationBody({ subscriptionId: 'sub_k_a', accountId: 'acc_k' }),
      headers,
    );
    expect([again.statusCode, again.json().subscriptionId]).toEqual([201, 'sub_k_a']);
    // 20 requests at once, one new key, 20 subscriptions: one registration, 19 refusals.
    const racing = { ...auth(TOKENS.all), 'idempotency-key': 'racing-key' };
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(
          '/v1/subscriptions',
          registrationBody({ subscriptionId: `sub_race_${i}`, accountId: 'acc_k' }),
          racing,
        ),
      ),
    );
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, ...Array(19).fill(422)]);
    const written = await Promise.all(
      Array.from({ length: 20 }, (_, i) => eventsOf(`sub_race_${i}`)),
    );
    expect(written.filter((e) => e.length > 0)).toEqual([['SubscriptionRegistered']]);
    // Keys stay scoped per calling service: another service may use the same key.
    const otherService = await post(
      '/v1/subscriptions',
      registrationBody({ subscriptionId: 'sub_k_c', accountId: 'acc_k' }),
      { ...auth(TOKENS.writer), 'idempotency-key': 'one-key' },
    );
    expect(otherService.statusCode).toBe(201);
  });

  it('D1: withdraw before expiry (200); R19: preview over HTTP', async () => {
    await post('/v1/subscriptions', registrationBody({ subscriptionId: 'sub_w' }));
    await post('/v1/subscriptions/sub_w/cancellation', {
      requestedBy: billingAdmin,
      channel: 'self_service',
    });
    const w = await t.app.inject({
      method: 'DELETE',
      url: '/v1/subscriptions/sub_w/cancellation',
      payload: { requestedBy: billingAdmin, channel: 'self_service' },
      headers: auth(TOKENS.writer),
    });
    expect(w.statusCode).toBe(200);
    expect(w.json()).toMatchObject({
      status: 'active',
      autoRenew: true,
      events: ['CancellationWithdrawn', 'AutoRenewEnabled'],
    });
    const preview = await t.app.inject({
      method: 'GET',
      url: '/v1/subscriptions/sub_w/cancellation-preview?role=billing_admin&channel=self_service',
      headers: auth(TOKENS.reader),
    });
    expect(preview.json()).toMatchObject({
      allowed: true,
      refund: 'none',
      effectiveAt: '2026-02-27T23:00:00.000Z',
      purgeAt: '2026-05-28T22:00:00.000Z',
    });
  });

  it('D3: legal hold place/release on the account stream (ops scope)', async () => {
    const body = { reason: 'Litigation', requestedBy: { actorId: 'ops_1', role: 'user' } };
    const denied = await t.app.inject({
      method: 'POST',
      url: '/v1/accounts/acc_1/legal-hold',
      payload: body,
      headers: auth(TOKENS.writer),
    });
    expect(denied.statusCode).toBe(403);
    const placed = await t.app.inject({
      method: 'POST',
      url: '/v1/accounts/acc_1/legal-hold',
      payload: body,
      headers: auth(TOKENS.ops),
    });
    expect(placed.json()).toMatchObject({ legalHold: true, events: ['LegalHoldPlaced'] });
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: '/v1/subscriptions/sub_a',
          headers: auth(TOKENS.reader),
        })
      ).json().legalHold,
    ).toBe(true);
    const released = await t.app.inject({
      method: 'DELETE',
      url: '/v1/accounts/acc_1/legal-hold',
      payload: body,
      headers: auth(TOKENS.ops),
    });
    expect(released.json()).toMatchObject({ legalHold: false, events: ['LegalHoldReleased'] });
  });
});
