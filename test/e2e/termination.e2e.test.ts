import type { EventStore } from '@app/event-store';
import { EVENT_STORE, RAW_EVENT_STORE } from '@app/infrastructure';
import { auth, registrationBody, startApp, type TestApp, TOKENS } from '../support/app-harness';

/** D8 over HTTP: POST/DELETE /v1/subscriptions/{id}/termination on the real app (SQLite). */
describe('termination over HTTP (D8)', () => {
  let t: TestApp;
  let store: EventStore;
  let raw: EventStore;
  beforeAll(async () => {
    t = await startApp({ start: '2026-02-10T09:00:00.000Z' });
    store = t.app.get(EVENT_STORE);
    raw = t.app.get(RAW_EVENT_STORE);
  });
  afterAll(async () => {
    await t.close();
  });

  const call = (method: 'POST' | 'DELETE' | 'GET', url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url,
      headers: auth(TOKENS.all),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const register = async (subscriptionId: string, overrides: Record<string, unknown> = {}) => {
    const res = await call('POST', '/v1/subscriptions', {
      ...registrationBody({ subscriptionId }),
      ...overrides,
    });
    expect(res.statusCode).toBe(201);
  };
  const typesOf = async (id: string) =>
    (await store.readStream(`subscription-${id}`)).map((e) => e.type);
  const billing = { actorId: 'svc_billing', role: 'system' };

  it('D8: a termination at the term end answers 200 with effectiveAt and purgeAt; the Subscription shows it', async () => {
    await register('sub_t1');
    const res = await call('POST', '/v1/subscriptions/sub_t1/termination', {
      requestedBy: billing,
      reason: 'payment_failed',
      effective: 'term_end',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      subscription: {
        status: 'active',
        expiresAt: '2026-02-27T23:00:00.000Z',
        termination: {
          reason: 'payment_failed',
          effectiveAt: '2026-02-27T23:00:00.000Z',
          requestedAt: '2026-02-10T09:00:00.000Z',
        },
      },
      effectiveAt: '2026-02-27T23:00:00.000Z',
      purgeAt: '2026-05-28T22:00:00.000Z',
      events: ['TerminationScheduled'],
    });
    const view = await call('GET', '/v1/subscriptions/sub_t1');
    expect(view.json()).toMatchObject({ termination: { reason: 'payment_failed' } });
  });

  it('D8: immediately expires in the same request (one append: TerminationScheduled, SubscriptionExpired)', async () => {
    await register('sub_t2');
    const res = await call('POST', '/v1/subscriptions/sub_t2/termination', {
      requestedBy: billing,
      reason: 'fraud',
      effective: 'immediately',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      // 90 days at the same local wall-clock time (D4): 10:00 in Rome, summer time by May.
      subscription: { status: 'expired', purgeAt: '2026-05-11T08:00:00.000Z' },
      effectiveAt: '2026-02-10T09:00:00.000Z',
      events: ['TerminationScheduled', 'SubscriptionExpired'],
    });
    const events = await raw.readStream('subscription-sub_t2');
    expect(events.at(-1)!.data).toMatchObject({ cause: 'terminated', terminationReason: 'fraud' });
    // One append: both events in the same transaction, consecutive positions.
    expect(events.at(-1)!.position - events.at(-2)!.position).toBe(1n);
  });

  it('D8: reactivation after a termination for fraud answers 409 and is recorded (ReactivationRefused)', async () => {
    const res = await call('POST', '/v1/subscriptions/sub_t2/reactivation', {
      requestedBy: { actorId: 'usr_1', role: 'billing_admin' },
      channel: 'support',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'INVALID_STATE' });
    expect((await typesOf('sub_t2')).at(-1)).toBe('ReactivationRefused');
  });

  it('D8: DELETE revokes a pending termination (200 Subscription); afterwards 409 once effective', async () => {
    await register('sub_t3');
    await call('POST', '/v1/subscriptions/sub_t3/termination', {
      requestedBy: billing,
      reason: 'terms_violation',
      effective: '2026-02-20T00:00:00+01:00',
    });
    const revoked = await call('DELETE', '/v1/subscriptions/sub_t3/termination', {
      requestedBy: billing,
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({
      status: 'active',
      expiresAt: null,
      termination: null,
      events: ['TerminationRevoked'],
    });
    const expired = await call('DELETE', '/v1/subscriptions/sub_t2/termination', {
      requestedBy: billing,
    });
    expect(expired.statusCode).toBe(409);
    expect(expired.json().error.code).toBe('INVALID_STATE');
  });

  it('D8: the note is personal data: encrypted in the log, readable through the decrypting store', async () => {
    await register('sub_t4');
    const note = 'Chargeback filed by Mario Bianchi, card ending 1881';
    const res = await call('POST', '/v1/subscriptions/sub_t4/termination', {
      requestedBy: billing,
      reason: 'payment_disputed',
      effective: 'term_end',
      note,
    });
    expect(res.statusCode).toBe(200);
    const stored = (await raw.readStream('subscription-sub_t4')).at(-1)!;
    expect(JSON.stringify(stored.data)).not.toContain('Bianchi');
    expect(stored.data['note']).toMatchObject({ $pd: 1 });
    expect((await store.readStream('subscription-sub_t4')).at(-1)!.data['note']).toBe(note);
  });

  it.each([
    ['an unknown reason', { reason: 'bored', effective: 'term_end' }],
    ['an instant after the term end', { reason: 'other', effective: '2026-03-15T00:00:00Z' }],
    ['an instant in the past', { reason: 'other', effective: '2026-02-01T00:00:00Z' }],
    ['an instant without offset', { reason: 'other', effective: '2026-02-20T00:00:00' }],
    ['no requestedBy', { reason: 'other', effective: 'term_end', requestedBy: undefined }],
    ['an unknown field', { reason: 'other', effective: 'term_end', refund: 'full' }],
  ])('D8: %s is 400 VALIDATION_FAILED and writes nothing', async (_label, body) => {
    await register(`sub_bad_${_label.replace(/\W+/g, '_')}`);
    const id = `sub_bad_${_label.replace(/\W+/g, '_')}`;
    const before = await typesOf(id);
    const res = await call('POST', `/v1/subscriptions/${id}/termination`, {
      requestedBy: billing,
      ...body,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
    expect(await typesOf(id)).toEqual(before);
  });

  it('D8: an unknown subscription is 404 and writes nothing', async () => {
    const res = await call('POST', '/v1/subscriptions/sub_none/termination', {
      requestedBy: billing,
      reason: 'other',
      effective: 'term_end',
    });
    expect(res.statusCode).toBe(404);
    expect(await store.readStream('subscription-sub_none')).toEqual([]);
  });

  it('D8: the same Idempotency-Key with the same body answers the first response again and writes nothing', async () => {
    await register('sub_t5');
    const body = { requestedBy: billing, reason: 'contract_ended', effective: 'immediately' };
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: '/v1/subscriptions/sub_t5/termination',
        headers: { ...auth(TOKENS.all), 'idempotency-key': 'term-sub_t5' },
        payload: body,
      });
    const first = await send();
    const second = await send();
    expect(second.statusCode).toBe(200);
    expect(second.json().events).toEqual(first.json().events);
    expect(await typesOf('sub_t5')).toEqual([
      'SubscriptionRegistered',
      'TerminationScheduled',
      'SubscriptionExpired',
    ]);
  });

  it('D8: the note is shredded with the account’s keys by an erasure (R17): it reads [erased] for good', async () => {
    const erased = await call('POST', '/v1/accounts/acc_1/erasure', {
      requestedBy: { actorId: 'usr_dpo', role: 'user' },
      reason: 'ticket 77',
    });
    expect(erased.statusCode).toBe(200);
    const terminated = (await store.readStream('subscription-sub_t4')).find(
      (e) => e.type === 'TerminationScheduled',
    )!;
    expect(terminated.data['note']).toBe('[erased]');
  });

  it('D8: the OpenAPI document declares both routes with their bodies and answers', async () => {
    const doc = (await call('GET', '/docs/json')).json();
    const path = doc.paths['/v1/subscriptions/{id}/termination'];
    expect(path.post.requestBody.content['application/json'].schema.properties).toHaveProperty(
      'reason',
    );
    expect(path.post.responses['200'].content['application/json'].schema.properties).toHaveProperty(
      'effectiveAt',
    );
    expect(Object.keys(path.delete.responses)).toEqual(expect.arrayContaining(['200', '409']));
  });
});
