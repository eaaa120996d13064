import { type IntegrationEvent, IntegrationEventReader, ReadStore } from '@app/read-models';
import { auth, TOKENS } from '../../support/app-harness';
import { usePrivateRedis } from '../../support/redis-harness';
import {
  cancel,
  EVENT_STORE,
  moveClock,
  register,
  scheduled,
  startLifecycleApp,
  type LifecycleApp,
  until,
} from './lifecycle-harness';
import type { EventStore } from '@app/event-store';

// A monthly GoTo Room bought on 2026-01-31 in Rome, cancelled through support on Feb 10: expires
// Feb 28 00:00 local, purge May 29 00:00 local, notices 30 and 7 days before (D7, D4).
const FEB_28 = '2026-02-27T23:00:00.000Z';
const PURGE_AT = '2026-05-28T22:00:00.000Z';
const NOTICE_30 = '2026-04-28T22:00:00.000Z';
const NOTICE_7 = '2026-05-21T22:00:00.000Z';

/** Every integration event of one subscription, read page by page the way a consumer would. */
async function integrationEventsOf(t: LifecycleApp, subscriptionId: string) {
  const store = t.app.get<EventStore>(EVENT_STORE);
  const readStore = t.app.get(ReadStore);
  const head = (await store.headPosition()) ?? 0n;
  await until(
    async () => ((await readStore.checkpoint()) ?? -1n) >= head,
    'the projector to reach the head of the log',
  );
  const reader = new IntegrationEventReader(readStore.readDb);
  const all: IntegrationEvent[] = [];
  let after: bigint | null = null;
  for (;;) {
    const page = await reader.page({ after, limit: 3 });
    all.push(...page.items);
    if (page.items.length === 0) break;
    after = BigInt(page.nextCursor);
  }
  return all.filter((e) => e.subscriptionId === subscriptionId);
}

describe('integration events of a whole lifecycle on the controlled clock', () => {
  const redis = usePrivateRedis();
  let t: LifecycleApp;
  beforeEach(async () => {
    t = await startLifecycleApp({ redisUrl: redis.url, start: '2026-02-10T09:00:00.000Z' });
  });
  // Before the suite's Redis stops (its afterAll).
  afterEach(() => t.close());

  it('D7/R18: a GoTo Room publishes registered → cancellation_scheduled → expired → room_account_revoked → purge_notice (30) → purge_notice (7) → purged, with the documented data and no personal data', async () => {
    await register(t, { subscriptionId: 'sub_ie1', productId: 'goto-room' });
    await cancel(t, 'sub_ie1');
    await scheduled(t);
    await moveClock(t, FEB_28);
    await moveClock(t, '2026-06-30T00:00:00.000Z');
    await scheduled(t);
    await until(
      async () =>
        (await t.app.get<EventStore>(EVENT_STORE).readStream('subscription-sub_ie1')).some(
          (e) => e.type === 'ProductDataPurged',
        ),
      'the purge to complete',
    );

    const published = await integrationEventsOf(t, 'sub_ie1');
    expect(published.map((e) => e.type)).toEqual([
      'subscription.registered',
      'subscription.cancellation_scheduled',
      'subscription.expired',
      'subscription.room_account_revoked',
      'subscription.purge_notice',
      'subscription.purge_notice',
      'subscription.purged',
    ]);
    const positions = published.map((e) => BigInt(e.position));
    expect([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(positions);
    for (const e of published) {
      expect(e).toMatchObject({
        id: expect.stringMatching(/^evt_/),
        accountId: 'acc_1',
        subscriptionId: 'sub_ie1',
        productId: 'goto-room',
      });
    }
    const byType = (type: string) => published.filter((e) => e.type === type);
    expect(byType('subscription.expired')[0]!.data).toEqual({
      expiresAt: FEB_28,
      cause: 'term_end',
      purgeAt: PURGE_AT,
    });
    expect(byType('subscription.purge_notice').map((e) => e.data)).toEqual([
      { purgeAt: PURGE_AT, daysBefore: 30, noticeAt: NOTICE_30 },
      { purgeAt: PURGE_AT, daysBefore: 7, noticeAt: NOTICE_7 },
    ]);
    expect(byType('subscription.purge_notice').map((e) => e.occurredAt)).toEqual([
      NOTICE_30,
      NOTICE_7,
    ]);
    const purged = byType('subscription.purged')[0]!;
    expect(purged.data).toMatchObject({ purgeAt: PURGE_AT });
    // Its receiptId names the receipt an auditor reads (D11), and its id is evt_<receiptId>.
    const receipts = await t.app.inject({
      method: 'GET',
      url: '/v1/audit/purges?subscriptionId=sub_ie1',
      headers: auth(TOKENS.auditor),
    });
    const [receipt] = receipts.json<{ items: { receiptId: string; purgeId: string }[] }>().items;
    expect(purged.data).toMatchObject({ receiptId: receipt!.receiptId, purgeId: receipt!.purgeId });
    expect(purged.id).toBe(`evt_${receipt!.receiptId}`);
    // The support verification of the cancellation (harness: anna@example.com, 4242, Via Roma)
    // is personal data: it never leaves in an integration event.
    const sent = JSON.stringify(published);
    for (const planted of ['anna@example.com', 'Via Roma', '4242'])
      expect(sent).not.toContain(planted);
    // One fact, one id.
    expect(new Set(published.map((e) => e.id)).size).toBe(published.length);
  }, 60_000);
});
