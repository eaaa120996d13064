import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IntegrationEvent, IntegrationEventPage } from '@app/read-models';
import { IntegrationEventFeed } from '../../../apps/api/src/list-integration-events/integration-events.feed';
import {
  auth,
  processTermEnd,
  registrationBody,
  startApp,
  type TestApp,
  TOKENS,
} from '../../support/app-harness';

/** What GET /v1/events answers: the reader's page, as JSON. */
export type FeedItem = IntegrationEvent;
export type FeedPage = IntegrationEventPage;

const admin = { actorId: 'usr_feed_admin', role: 'billing_admin' };
/** Distinctive personal values: none may appear in any feed payload. */
const PLANTED = {
  comment: 'FEEDLEAK comment: the CFO Margarethe hates the new UI',
  email: 'feedleak.verifier@example.org',
  last4: '8317',
  address: 'FEEDLEAK 221B Baker Street, London',
  note: 'FEEDLEAK note: chargeback by Mr. Feedleak',
  holdReason: 'FEEDLEAK hold: Doe v. Feedleak Corp',
  releaseReason: 'FEEDLEAK release: case closed',
  erasureReason: 'FEEDLEAK-GDPR-4711',
  actorId: 'usr_feedleak_actor',
};

/** Waits (without a time limit of its own: jest's applies) until `done` holds. */
export async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((r) => setTimeout(r, 10));
}

/**
 * GET /v1/events over HTTP on the real app: scope, paging under concurrent writes, type filter,
 * long-poll, validation, and no personal data. Run on SQLite and on PostgreSQL (`env`).
 */
export function integrationEventFeedScenarios(setup: {
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

  const send = (method: 'GET' | 'POST' | 'DELETE', url: string, token: string, payload?: object) =>
    t.app.inject({
      method,
      url,
      headers: auth(token),
      ...(payload === undefined ? {} : { payload }),
    });
  const feed = async (query: string, token: string = TOKENS.events): Promise<FeedPage> => {
    const res = await send('GET', `/v1/events?${query}`, token);
    expect([res.statusCode, query]).toEqual([200, query]);
    return res.json<FeedPage>();
  };
  const register = async (subscriptionId: string, accountId: string, extra = {}) => {
    const res = await send(
      'POST',
      '/v1/subscriptions',
      TOKENS.writer,
      registrationBody({ subscriptionId, accountId, ...extra }),
    );
    expect(res.statusCode).toBe(201);
    return res.json<{ position: string }>().position;
  };
  const cancel = async (id: string, body: object = {}) => {
    const res = await send('POST', `/v1/subscriptions/${id}/cancellation`, TOKENS.writer, {
      requestedBy: admin,
      channel: 'self_service',
      ...body,
    });
    expect(res.statusCode).toBe(200);
    return res.json<{ position: string }>().position;
  };
  /** Until the read models include `position` (read-your-writes through the audit route). */
  const projected = async (position: string) => {
    const res = await send(
      'GET',
      `/v1/audit/events?minPosition=${position}&maxWaitMs=5000&limit=1`,
      TOKENS.auditor,
    );
    expect(res.statusCode).toBe(200);
  };
  /** Every item from `after` on, page by page, until a page is empty. */
  const drain = async (after: string | null, limit: number) => {
    const items: FeedItem[] = [];
    let cursor = after;
    for (;;) {
      const page = await feed(`limit=${limit}${cursor === null ? '' : `&after=${cursor}`}`);
      items.push(...page.items);
      if (cursor !== null) expect(BigInt(page.nextCursor)).toBeGreaterThanOrEqual(BigInt(cursor));
      cursor = page.nextCursor;
      if (page.items.length === 0) return { items, cursor };
    }
  };
  const feedService = () => t.app.get(IntegrationEventFeed);

  it('events:read is required: 401 without a token or with an unknown one, 403 FORBIDDEN_SCOPE with another scope', async () => {
    for (const headers of [{}, auth('tok-nobody')]) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/events', headers });
      expect([res.statusCode, res.json().error.code]).toEqual([401, 'UNAUTHENTICATED']);
    }
    for (const token of [TOKENS.writer, TOKENS.reader, TOKENS.auditor, TOKENS.ops]) {
      const res = await send('GET', '/v1/events', token);
      expect([res.statusCode, res.json().error]).toEqual([
        403,
        expect.objectContaining({
          code: 'FORBIDDEN_SCOPE',
          details: { requiredScope: 'events:read' },
        }),
      ]);
    }
    expect((await send('GET', '/v1/events', TOKENS.events)).statusCode).toBe(200);
  });

  it('paging with after/nextCursor returns every event exactly once, in position order, while registrations and cancellations are written concurrently', async () => {
    const start = (await drain(null, 1000)).cursor;
    const seen: FeedItem[] = [];
    let writing = true;
    const reader = (async () => {
      let cursor = start;
      // Reads small pages while the writes go on, then until the feed has nothing newer.
      for (;;) {
        const page = await feed(`after=${cursor}&limit=7`);
        seen.push(...page.items);
        cursor = page.nextCursor;
        if (!writing && page.items.length === 0) return cursor;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const ids = Array.from({ length: 30 }, (_, i) => `feed_c${i}`);
    const positions = await Promise.all(
      ids.map(async (id, i) => {
        const p = await register(id, `acc_feed_c${i % 3}`);
        return i % 2 === 0 ? cancel(id) : p;
      }),
    );
    const last = positions.map(BigInt).reduce((a, b) => (a > b ? a : b));
    await projected(last.toString());
    writing = false;
    await reader;

    const all = (await drain(start, 1000)).items;
    // 30 registrations and 15 cancellations (AutoRenewDisabled publishes nothing).
    expect(all.filter((e) => e.subscriptionId?.startsWith('feed_c'))).toHaveLength(45);
    expect(seen.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    const order = seen.map((e) => BigInt(e.position));
    expect(order.every((p, i) => i === 0 || p > order[i - 1]!)).toBe(true);
    expect(seen.every((e) => e.id.startsWith('evt_'))).toBe(true);
  });

  it('type filter: only the named types, repeated or comma-separated alike; the cursor moves past the other types', async () => {
    const before = (await drain(null, 1000)).cursor;
    await register('feed_t1', 'acc_feed_t');
    await projected(await cancel('feed_t1'));
    const cancellations = await feed(`after=${before}&type=subscription.cancellation_scheduled`);
    expect(cancellations.items.map((e) => [e.type, e.subscriptionId])).toEqual([
      ['subscription.cancellation_scheduled', 'feed_t1'],
    ]);
    const repeated = await feed(
      `after=${before}&type=subscription.registered&type=subscription.cancellation_scheduled`,
    );
    const comma = await feed(
      `after=${before}&type=subscription.registered,subscription.cancellation_scheduled`,
    );
    expect(repeated).toEqual(comma);
    expect(repeated.items.map((e) => e.type)).toEqual([
      'subscription.registered',
      'subscription.cancellation_scheduled',
    ]);
    const none = await feed(`after=${before}&type=account.personal_data_erased`);
    expect(none.items).toEqual([]);
    expect(BigInt(none.nextCursor)).toBeGreaterThanOrEqual(
      BigInt(cancellations.items[0]!.position),
    );
  });

  it('long-poll: a request waiting with waitMs answers with the event written during the wait; a filtered one ignores other types and answers with its own', async () => {
    const cursor = (await drain(null, 1000)).cursor;
    const waiting = feed(`after=${cursor}&waitMs=20000`);
    await until(() => feedService().waiting === 1);
    await register('feed_lp1', 'acc_feed_lp');
    const page = await waiting;
    expect(page.items.map((e) => [e.type, e.subscriptionId])).toEqual([
      ['subscription.registered', 'feed_lp1'],
    ]);

    const filtered = feed(
      `after=${page.nextCursor}&waitMs=20000&type=subscription.cancellation_scheduled`,
    );
    await until(() => feedService().waiting === 1);
    // Another type is written and projected: the request keeps waiting…
    await projected(await register('feed_lp2', 'acc_feed_lp'));
    expect(feedService().waiting).toBe(1);
    // …until its type comes.
    await cancel('feed_lp2');
    const cancelled = await filtered;
    expect(cancelled.items.map((e) => [e.type, e.subscriptionId])).toEqual([
      ['subscription.cancellation_scheduled', 'feed_lp2'],
    ]);
    await until(() => feedService().waiting === 0 && !feedService().watching);
  });

  it('long-poll: at the deadline an empty page, with a cursor to continue from; nothing waits or polls afterwards', async () => {
    const cursor = (await drain(null, 1000)).cursor;
    const page = await feed(`after=${cursor}&waitMs=50`);
    expect(page).toEqual({ items: [], nextCursor: cursor });
    const typed = await feed(`after=${cursor}&waitMs=30&type=account.legal_hold_placed`);
    expect(typed.items).toEqual([]);
    expect(feedService().waiting).toBe(0);
    expect(feedService().watching).toBe(false);
  });

  it('long-poll: a client that goes away ends its wait at once (no timer or checkpoint poll is left)', async () => {
    const cursor = (await drain(null, 1000)).cursor;
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: `/v1/events?after=${cursor}&waitMs=30000`,
      headers: auth(TOKENS.events),
    });
    req.on('error', () => undefined);
    req.end();
    await until(() => feedService().waiting === 1);
    expect(feedService().watching).toBe(true);
    req.destroy();
    await until(() => feedService().waiting === 0);
    expect(feedService().watching).toBe(false);
  });

  it('bad input is a 400 VALIDATION_FAILED in the API error shape: waitMs over 30000, malformed after or limit, unknown type or parameter, after beyond the log', async () => {
    const cases: [string, string][] = [
      ['waitMs=30001', 'query.waitMs'],
      ['waitMs=-1', 'query.waitMs'],
      ['waitMs=1e3', 'query.waitMs'],
      ['after=-1', 'query.after'],
      ['after=abc', 'query.after'],
      ['after=1.5', 'query.after'],
      ['after=99999999999999999999', 'query.after'],
      ['limit=0', 'query.limit'],
      ['limit=1001', 'query.limit'],
      ['limit=ten', 'query.limit'],
      ['type=subscription.exploded', 'query.type'],
      ['type=SubscriptionExpired', 'query.type'],
      ['type=subscription.expired,nope', 'query.type'],
      ['type=', 'query.type'],
      ['cursor=abc', 'query'],
      ['after=999999999999', 'query.after'],
    ];
    for (const [query, path] of cases) {
      const res = await send('GET', `/v1/events?${query}`, TOKENS.events);
      const body = res.json<{
        error: { code: string; message: string; details: { issues: { path: string }[] } };
      }>();
      expect([query, res.statusCode, body.error.code]).toEqual([query, 400, 'VALIDATION_FAILED']);
      expect([query, body.error.details.issues.map((i) => i.path)]).toEqual([
        query,
        expect.arrayContaining([expect.stringMatching(new RegExp(`^${path.replace('.', '\\.')}`))]),
      ]);
    }
    // The limits themselves are fine.
    expect((await send('GET', '/v1/events?limit=1000&waitMs=0', TOKENS.events)).statusCode).toBe(
      200,
    );
  });

  it('R17: no personal value planted in a survey comment, a support verification, a termination note, hold and erasure reasons or an actor id appears in any feed payload', async () => {
    const actor = { actorId: PLANTED.actorId, role: 'billing_admin' };
    await register('feed_pii1', 'acc_feed_pii');
    await cancel('feed_pii1', {
      requestedBy: actor,
      channel: 'support',
      survey: { reason: 'switched_service', comment: PLANTED.comment },
      verification: {
        billingAdminEmail: PLANTED.email,
        paymentLast4: PLANTED.last4,
        billingAddress: PLANTED.address,
      },
    });
    await register('feed_pii2', 'acc_feed_pii');
    const terminated = await send(
      'POST',
      '/v1/subscriptions/feed_pii2/termination',
      TOKENS.writer,
      {
        requestedBy: actor,
        reason: 'payment_disputed',
        effective: 'term_end',
        note: PLANTED.note,
      },
    );
    expect(terminated.statusCode).toBe(200);
    const ops = { requestedBy: actor };
    for (const [method, path, reason] of [
      ['POST', 'legal-hold', PLANTED.holdReason],
      ['DELETE', 'legal-hold', PLANTED.releaseReason],
      ['POST', 'erasure', PLANTED.erasureReason],
    ] as const) {
      const res = await send(method, `/v1/accounts/acc_feed_pii/${path}`, TOKENS.ops, {
        ...ops,
        reason,
      });
      expect([path, res.statusCode]).toEqual([path, 200]);
      await projected(res.json<{ position: string }>().position);
    }
    const bodies: string[] = [];
    let cursor: string | null = null;
    for (;;) {
      const res = await send(
        'GET',
        `/v1/events?limit=50${cursor === null ? '' : `&after=${cursor}`}`,
        TOKENS.events,
      );
      bodies.push(res.body);
      const page = res.json<FeedPage>();
      cursor = page.nextCursor;
      if (page.items.length === 0) break;
    }
    const text = bodies.join('\n');
    // The facts are there…
    for (const type of [
      'subscription.cancellation_scheduled',
      'subscription.termination_scheduled',
      'account.legal_hold_placed',
      'account.legal_hold_released',
      'account.personal_data_erased',
    ])
      expect([type, text.includes(`"${type}"`)]).toEqual([type, true]);
    // …and nothing personal.
    // Not even encrypted (the log's ciphertexts are `{ "$pd": … }` objects) or scrubbed.
    const markers = ['$pd', '[erased]'];
    const leaked = [
      ...Object.values(PLANTED),
      ...markers,
      'FEEDLEAK',
      'Margarethe',
      'Baker Street',
    ].filter((value) => text.includes(value));
    expect(leaked).toEqual([]);
  });

  // Last: it moves the controlled clock past the fixtures' term end.
  it('R14: an expiry at the term end is published as subscription.expired with cause term_end, expiresAt and purgeAt', async () => {
    const before = (await drain(null, 1000)).cursor;
    await register('feed_x1', 'acc_feed_x', { autoRenew: false });
    const expired = await processTermEnd(t, 'feed_x1', '2026-02-28T00:00:00.000Z');
    await projected(expired.position!.toString());
    const page = await feed(`after=${before}&type=subscription.expired`);
    expect(page.items).toEqual([
      expect.objectContaining({
        type: 'subscription.expired',
        subscriptionId: 'feed_x1',
        accountId: 'acc_feed_x',
        productId: 'goto-meeting',
        data: expect.objectContaining({ cause: 'term_end' }),
      }),
    ]);
    expect(page.items[0]!.data).toEqual({
      expiresAt: expect.any(String),
      cause: 'term_end',
      purgeAt: expect.any(String),
    });
  });
}
