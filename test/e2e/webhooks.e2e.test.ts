import { TOKENS } from '../support/app-harness';
import { eventually, WebhookReceiver } from '../support/webhook-receiver';
import { appliedInLogOrder, FAST, neverAhead, WebhookDriver } from './support/webhook-scenarios';

/**
 * Webhooks over HTTP on the real app (SQLite), delivering to real HTTP receivers that verify each
 * signature with the standardwebhooks package and deduplicate on webhook-id.
 */
describe('webhooks: endpoints and deliveries (SQLite)', () => {
  let d: WebhookDriver;
  const receivers: WebhookReceiver[] = [];
  const receiver = async () => {
    const r = await WebhookReceiver.start();
    receivers.push(r);
    return r;
  };
  beforeAll(async () => {
    d = await WebhookDriver.start({});
  });
  afterAll(async () => {
    await d?.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('endpoints: created by ops only, validated, the secret shown once; listed, read, deleted', async () => {
    const body = { url: 'https://hooks.example.com/eol', types: ['subscription.expired'] };
    expect((await d.inject('POST', '/v1/webhook-endpoints', TOKENS.writer, body)).statusCode).toBe(
      403,
    );
    expect((await d.inject('GET', '/v1/webhook-endpoints', TOKENS.reader)).statusCode).toBe(403);
    for (const [bad, path] of [
      [{ ...body, url: 'ftp://hooks.example.com/eol' }, 'body.url'],
      [{ ...body, url: 'https://user:pw@hooks.example.com/eol' }, 'body.url'],
      [{ ...body, url: 'https://hooks.example.com/eol#x' }, 'body.url'],
      [{ ...body, url: 'not a url' }, 'body.url'],
      [{ ...body, types: ['subscription.exploded'] }, 'body.types.0'],
      [{ ...body, types: ['*', 'subscription.expired'] }, 'body.types'],
      [{ ...body, types: [] }, 'body.types'],
      [{ ...body, secret: 'mine' }, 'body'],
    ] as const) {
      const r = await d.inject('POST', '/v1/webhook-endpoints', TOKENS.ops, bad);
      expect(r.statusCode).toBe(400);
      const error = r.json<{ error: { code: string; details: { issues: { path: string }[] } } }>()
        .error;
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.details.issues.map((i) => i.path)).toContain(path);
    }

    const created = await d.inject('POST', '/v1/webhook-endpoints', TOKENS.ops, {
      ...body,
      description: 'Meeting rooms',
    });
    expect(created.statusCode).toBe(201);
    const endpoint = created.json<Record<string, unknown>>();
    expect(endpoint).toMatchObject({
      id: expect.stringMatching(/^we_/),
      url: body.url,
      types: body.types,
      description: 'Meeting rooms',
      status: 'enabled',
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+=*$/),
    });
    expect(Buffer.from((endpoint['secret'] as string).slice(6), 'base64')).toHaveLength(32);
    const { secret, ...withoutSecret } = endpoint;

    const one = await d.inject(
      'GET',
      `/v1/webhook-endpoints/${String(endpoint['id'])}`,
      TOKENS.ops,
    );
    expect(one.json()).toEqual(withoutSecret);
    const list = await d.inject('GET', '/v1/webhook-endpoints', TOKENS.ops);
    expect(list.json<{ items: unknown[] }>().items).toContainEqual(withoutSecret);
    expect(list.body).not.toContain(secret as string);
    expect(list.body).not.toContain('secret');

    const url = `/v1/webhook-endpoints/${String(endpoint['id'])}`;
    expect((await d.inject('DELETE', url, TOKENS.writer)).statusCode).toBe(403);
    const removed = await d.inject('DELETE', url, TOKENS.ops);
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toEqual(withoutSecret);
    expect((await d.inject('GET', url, TOKENS.ops)).statusCode).toBe(404);
    expect((await d.inject('DELETE', url, TOKENS.ops)).statusCode).toBe(404);
    expect((await d.inject('GET', `${url}/deliveries`, TOKENS.ops)).statusCode).toBe(404);
  });

  it('a receiver failing for a while gets every event after the endpoint was created, each once after dedup, in order per subscription; a types filter gets only its types', async () => {
    const before = await d.register('wh_before', 'acc_wh_before');
    const all = await receiver();
    const cancellations = await receiver();
    // The first 12 requests are answered 500: retries with backoff until they are accepted.
    all.answer = (_, i) => (i < 12 ? 500 : 200);
    const everything = await d.createEndpoint(all, ['*']);
    const filtered = await d.createEndpoint(cancellations, ['subscription.cancellation_scheduled']);
    expect(BigInt(everything.startPosition)).toBeGreaterThanOrEqual(before);

    let last = 0n;
    for (const n of [1, 2, 3]) last = await d.register(`wh_sub_${n}`, `acc_wh_${n}`);
    for (const n of [1, 2, 3]) last = await d.cancel(`wh_sub_${n}`);
    last = await d.withdraw('wh_sub_2');
    last = await d.cancel('wh_sub_2');
    // wh_before changes too: events after the endpoint's creation, whatever the subscription.
    last = await d.cancel('wh_before');

    const expected = await d.integrationEvents(BigInt(everything.startPosition), last);
    expect(expected.length).toBe(3 + 3 + 2 + 1);
    const expectedIds = expected.map((e) => e.id);
    await eventually(
      () => all.appliedIds().length === expected.length,
      'every event accepted by the flaky receiver',
    );
    expect(new Set(all.appliedIds())).toEqual(new Set(expectedIds));
    expect(all.requests.length).toBeGreaterThan(expected.length); // 500s were retried
    expect(all.requests.every((r) => r.verified)).toBe(true);
    expect(all.requests.every((r) => r.id === r.event.id)).toBe(true);
    expect(appliedInLogOrder(all)).toBe(true);
    expect(neverAhead(all, expected)).toBe(true);
    // Registering wh_before happened before the endpoint: never sent, not even listed.
    expect(
      all.requests.some(
        (r) => r.event.type === 'subscription.registered' && r.event.subscriptionId === 'wh_before',
      ),
    ).toBe(false);
    // Accepted deliveries are recorded together (one transaction per 64, or after 20 ms): the
    // receiver can hold the last one before its row says so (a clean-clone CI run under load).
    await eventually(
      async () => (await d.deliveries(everything.id)).every((l) => l.status === 'delivered'),
      'every delivery recorded as delivered',
    );
    const listed = await d.deliveries(everything.id);
    expect(listed.map((l) => l.eventId)).toEqual(expectedIds);
    expect(listed.every((l) => l.status === 'delivered')).toBe(true);
    expect(listed.some((l) => l.attempts > 1 && l.lastStatusCode === 200)).toBe(true);

    const wanted = expected.filter((e) => e.type === 'subscription.cancellation_scheduled');
    await eventually(
      () => cancellations.appliedIds().length === wanted.length,
      'the cancellations at the filtered endpoint',
    );
    expect(cancellations.appliedIds().sort()).toEqual(wanted.map((e) => e.id).sort());
    expect((await d.deliveries(filtered.id)).map((l) => l.type)).toEqual(
      wanted.map(() => 'subscription.cancellation_scheduled'),
    );

    // Keyset pages of the list: every delivery once, in log order.
    const paged: string[] = [];
    let cursor: string | null = null;
    for (;;) {
      const query: string = `?limit=4${cursor ? `&cursor=${cursor}` : ''}&status=delivered`;
      const page = await d.inject(
        'GET',
        `/v1/webhook-endpoints/${everything.id}/deliveries${query}`,
        TOKENS.ops,
      );
      const body = page.json<{
        items: { eventId: string }[];
        nextCursor: string | null;
        hasMore: boolean;
      }>();
      paged.push(...body.items.map((i) => i.eventId));
      if (!body.hasMore) break;
      cursor = body.nextCursor;
    }
    expect(paged).toEqual(expectedIds);
    expect(
      (
        await d.inject(
          'GET',
          `/v1/webhook-endpoints/${everything.id}/deliveries?cursor=nope`,
          TOKENS.ops,
        )
      ).statusCode,
    ).toBe(400);
  });

  it("a subscription whose delivery keeps failing holds back its own later deliveries, not other subscriptions'", async () => {
    const r = await receiver();
    // Every delivery of wh_stuck's cancellation is refused; everything else is accepted.
    r.answer = (delivery) =>
      delivery.event.subscriptionId === 'wh_stuck' &&
      delivery.event.type === 'subscription.cancellation_scheduled'
        ? 500
        : 200;
    await d.createEndpoint(r, ['*']);
    await d.register('wh_stuck', 'acc_wh_stuck');
    await d.cancel('wh_stuck');
    await d.withdraw('wh_stuck');
    for (const n of [1, 2, 3]) await d.register(`wh_free_${n}`, `acc_wh_free_${n}`);
    for (const n of [1, 2, 3]) await d.cancel(`wh_free_${n}`);
    await eventually(
      () => r.applied.filter((e) => e.event.subscriptionId?.startsWith('wh_free_')).length === 6,
      "the other subscriptions' events to arrive",
    );
    // Meanwhile the refused cancellation was retried, and the withdrawal behind it never sent.
    await eventually(
      () =>
        r.requests.filter(
          (e) =>
            e.event.subscriptionId === 'wh_stuck' &&
            e.event.type === 'subscription.cancellation_scheduled',
        ).length >= 3,
      'the refused delivery to be retried',
    );
    const stuck = r.requests.filter((e) => e.event.subscriptionId === 'wh_stuck');
    expect(stuck.map((e) => e.event.type)).not.toContain('subscription.cancellation_withdrawn');
    expect(
      r.applied.filter((e) => e.event.subscriptionId === 'wh_stuck').map((e) => e.event.type),
    ).toEqual(['subscription.registered']);
  });

  it('a slow endpoint (holding its requests) does not delay another endpoint', async () => {
    const slow = await receiver();
    const fast = await receiver();
    slow.answer = () => 'hold';
    const slowEndpoint = await d.createEndpoint(slow, ['*']);
    await d.createEndpoint(fast, ['*']);
    let last = 0n;
    for (const n of [1, 2, 3, 4, 5, 6]) last = await d.register(`wh_slow_${n}`, `acc_wh_slow`);
    const expected = await d.integrationEvents(BigInt(slowEndpoint.startPosition), last);

    await eventually(() => fast.appliedIds().length === expected.length, 'the fast endpoint');
    // Everything reached the fast endpoint while the slow one still holds its first requests.
    expect(slow.heldCount).toBeGreaterThan(0);
    expect(slow.applied).toHaveLength(0);
    slow.release();
    await eventually(() => slow.appliedIds().length === expected.length, 'the slow endpoint');
    expect(new Set(slow.appliedIds())).toEqual(new Set(expected.map((e) => e.id)));
  });
});

describe('webhooks: the retry window, manual retry, metrics, redirects (SQLite)', () => {
  let d: WebhookDriver;
  const receivers: WebhookReceiver[] = [];
  beforeAll(async () => {
    d = await WebhookDriver.start(
      {},
      {
        dispatcher: true,
        settings: { ...FAST, retryWindowMs: 300 },
      },
    );
  });
  afterAll(async () => {
    await d?.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('a delivery refused past the retry window is failed: listed, counted in the metrics; a manual retry delivers it', async () => {
    const down = await WebhookReceiver.start();
    receivers.push(down);
    let up = false;
    down.answer = () => (up ? 200 : 503);
    const endpoint = await d.createEndpoint(down, ['subscription.registered']);
    const position = await d.register('wh_fail', 'acc_wh_fail');
    const [event] = await d.integrationEvents(BigInt(endpoint.startPosition), position);

    await eventually(
      async () => (await d.deliveries(endpoint.id, '&status=failed')).length === 1,
      'the delivery to fail',
    );
    const [failed] = await d.deliveries(endpoint.id, '&status=failed');
    expect(failed).toMatchObject({
      eventId: event!.id,
      status: 'failed',
      lastStatusCode: 503,
      lastError: 'HTTP 503',
      nextAttemptAt: null,
      deliveredAt: null,
    });
    expect(failed!.attempts).toBeGreaterThanOrEqual(1);
    expect(await d.deliveries(endpoint.id, '&status=pending')).toEqual([]);
    expect(down.applied).toHaveLength(0);

    const metrics = (await d.inject('GET', '/metrics', TOKENS.ops)).body;
    expect(metrics).toMatch(/subscriptions_webhook_deliveries_total\{outcome="failed"\} 1\b/);
    expect(metrics).toMatch(/subscriptions_webhook_deliveries_total\{outcome="retried"\} \d+/);
    expect(metrics).toMatch(/subscriptions_webhook_oldest_pending_age_seconds \d/);

    up = true;
    const retried = await d.inject(
      'POST',
      `/v1/webhook-endpoints/${endpoint.id}/deliveries/${failed!.id}/retry`,
      TOKENS.ops,
    );
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toMatchObject({ id: failed!.id, status: 'pending' });
    await eventually(() => down.appliedIds().length === 1, 'the retried delivery');
    expect(down.appliedIds()).toEqual([event!.id]);
    await eventually(
      async () => (await d.deliveries(endpoint.id, '&status=delivered')).length === 1,
      'the delivery to show delivered',
    );
    expect(
      (
        await d.inject(
          'POST',
          `/v1/webhook-endpoints/${endpoint.id}/deliveries/dlv_unknown/retry`,
          TOKENS.ops,
        )
      ).statusCode,
    ).toBe(404);
    expect((await d.inject('GET', '/metrics', TOKENS.ops)).body).toMatch(
      /subscriptions_webhook_deliveries_total\{outcome="delivered"\} 1\b/,
    );
  });

  it('a redirect is a failed attempt, never followed', async () => {
    const elsewhere = await WebhookReceiver.start();
    const redirecting = await WebhookReceiver.start();
    receivers.push(elsewhere, redirecting);
    redirecting.answer = () => ({ redirect: elsewhere.url('/stolen') });
    const endpoint = await d.createEndpoint(redirecting, ['subscription.registered']);
    await d.register('wh_redirect', 'acc_wh_redirect');
    await eventually(
      async () => (await d.deliveries(endpoint.id, '&status=failed')).length === 1,
      'the redirected delivery to fail',
    );
    const [failed] = await d.deliveries(endpoint.id, '&status=failed');
    expect(failed).toMatchObject({ lastStatusCode: 302, lastError: 'redirect 302 not followed' });
    expect(redirecting.requests.length).toBeGreaterThanOrEqual(1);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('R17: no personal value planted in a survey comment, a support verification, a termination note, hold and erasure reasons or an actor id is in any request a receiver gets', async () => {
    const planted = {
      comment: 'HOOKLEAK comment: the CFO Ingeborg hates the new UI',
      email: 'hookleak.verifier@example.org',
      last4: '6093',
      address: 'HOOKLEAK 12 Grimmauld Place, London',
      note: 'HOOKLEAK note: chargeback by Ms. Hookleak',
      holdReason: 'HOOKLEAK hold: Roe v. Hookleak Ltd',
      releaseReason: 'HOOKLEAK release: settled',
      erasureReason: 'HOOKLEAK-GDPR-0815',
      actorId: 'usr_hookleak_actor',
    };
    const everything = await WebhookReceiver.start();
    receivers.push(everything);
    await d.createEndpoint(everything, ['*']);
    const actor = { actorId: planted.actorId, role: 'billing_admin' };
    const send = async (method: 'POST' | 'DELETE', url: string, token: string, body: unknown) => {
      const r = await d.inject(method, url, token, body);
      expect([url, r.statusCode]).toEqual([url, 200]);
    };
    await d.register('wh_pii1', 'acc_wh_pii');
    await send('POST', '/v1/subscriptions/wh_pii1/cancellation', TOKENS.writer, {
      requestedBy: actor,
      channel: 'support',
      survey: { reason: 'switched_service', comment: planted.comment },
      verification: {
        billingAdminEmail: planted.email,
        paymentLast4: planted.last4,
        billingAddress: planted.address,
      },
    });
    await d.register('wh_pii2', 'acc_wh_pii');
    await send('POST', '/v1/subscriptions/wh_pii2/termination', TOKENS.writer, {
      requestedBy: actor,
      reason: 'payment_disputed',
      effective: 'term_end',
      note: planted.note,
    });
    await send('POST', '/v1/accounts/acc_wh_pii/legal-hold', TOKENS.ops, {
      requestedBy: actor,
      reason: planted.holdReason,
    });
    await send('DELETE', '/v1/accounts/acc_wh_pii/legal-hold', TOKENS.ops, {
      requestedBy: actor,
      reason: planted.releaseReason,
    });
    await send('POST', '/v1/accounts/acc_wh_pii/erasure', TOKENS.ops, {
      requestedBy: actor,
      reason: planted.erasureReason,
    });
    await eventually(
      () => everything.applied.some((e) => e.event.type === 'account.personal_data_erased'),
      'the erasure to be delivered',
    );
    // The facts arrived (all of the account's; in log order per subscription, so sorted here)…
    const inLogOrder = [...everything.applied].sort((x, y) =>
      BigInt(x.event.position) < BigInt(y.event.position) ? -1 : 1,
    );
    expect(inLogOrder.map((e) => e.event.type)).toEqual([
      'subscription.registered',
      'subscription.cancellation_scheduled',
      'subscription.registered',
      'subscription.termination_scheduled',
      'account.legal_hold_placed',
      'account.legal_hold_released',
      'account.personal_data_erased',
    ]);
    // …and nothing personal, in a body or a header, not even encrypted (the log's ciphertexts
    // are `{ "$pd": … }` objects) or scrubbed.
    const sent = everything.requests.map((r) => JSON.stringify(r)).join('\n');
    const markers = ['$pd', '[erased]'];
    const leaked = [
      ...Object.values(planted),
      ...markers,
      'HOOKLEAK',
      'Ingeborg',
      'Grimmauld',
    ].filter((v) => sent.includes(v));
    expect(leaked).toEqual([]);
  });
});
