import { purgeJobId, purgeNoticeJobId } from '@app/scheduling';
import { usePrivateRedis } from '../../support/redis-harness';
import {
  billingAdmin,
  cancel,
  events,
  jobIds,
  type LifecycleApp,
  moveClock,
  post,
  register,
  scheduled,
  scheduledJobIds,
  startLifecycleApp,
  types,
} from './lifecycle-harness';

// Monthly plan bought on 2026-01-31 00:00 in Rome, cancelled, expired at Feb 28 00:00 local:
// purgeAt May 29 00:00 local (CEST); notices 30 and 7 days before, at local midnight (D7, D4).
const FEB_28 = '2026-02-27T23:00:00.000Z';
const PURGE_AT = '2026-05-28T22:00:00.000Z';
const NOTICE_30 = '2026-04-28T22:00:00.000Z';
const NOTICE_7 = '2026-05-21T22:00:00.000Z';
const ms = (iso: string) => Date.parse(iso);
const before = (iso: string) => new Date(ms(iso) - 1000).toISOString();

describe('D7: purge notices on the real lifecycle with a controlled clock', () => {
  const redis = usePrivateRedis();
  let t: LifecycleApp;
  beforeEach(async () => {
    t = await startLifecycleApp({ redisUrl: redis.url, start: '2026-02-10T09:00:00.000Z' });
  });
  afterEach(() => t.close());

  it('D7: register, cancel, expire; then exactly one notice at −30 d and one at −7 d, in order, then the purge', async () => {
    await register(t, { subscriptionId: 'sub_n1' });
    const answer = (await cancel(t, 'sub_n1')) as unknown as Record<string, unknown>;
    expect(answer['purgeNotices']).toEqual([
      { daysBefore: 30, noticeAt: NOTICE_30, issuedAt: null },
      { daysBefore: 7, noticeAt: NOTICE_7, issuedAt: null },
    ]);
    await scheduled(t);
    expect(await jobIds(t, 'purge-notice')).toEqual([]);

    await moveClock(t, FEB_28);
    await scheduled(t);
    // Two months away: in the schedule table; the loader moves it into Redis within 48 h of it.
    expect(await scheduledJobIds(t, 'purge-notice')).toEqual([
      purgeNoticeJobId('sub_n1', 30, ms(NOTICE_30)),
    ]);

    // Never early.
    await moveClock(t, before(NOTICE_30));
    expect(await types(t, 'sub_n1')).not.toContain('PurgeNoticeIssued');

    await moveClock(t, NOTICE_30);
    const first = (await events(t, 'sub_n1')).filter((e) => e.type === 'PurgeNoticeIssued');
    expect(first).toHaveLength(1);
    expect(first[0]!.data).toEqual({
      subscriptionId: 'sub_n1',
      accountId: 'acc_1',
      productId: 'goto-meeting',
      purgeAt: PURGE_AT,
      daysBefore: 30,
      noticeAt: NOTICE_30,
      issuedAt: NOTICE_30,
    });
    expect(first[0]!.metadata).toMatchObject({
      channel: 'system',
      commandId: `scheduler/${purgeNoticeJobId('sub_n1', 30, ms(NOTICE_30))}`,
    });
    await scheduled(t);
    expect(await scheduledJobIds(t, 'purge-notice')).toEqual([
      purgeNoticeJobId('sub_n1', 7, ms(NOTICE_7)),
    ]);

    await moveClock(t, before(NOTICE_7));
    expect((await types(t, 'sub_n1')).filter((x) => x === 'PurgeNoticeIssued')).toHaveLength(1);

    // One move past the second notice and the purge: the driver runs them in due order.
    await moveClock(t, '2026-06-30T00:00:00.000Z');
    const all = await events(t, 'sub_n1');
    const notices = all.filter((e) => e.type === 'PurgeNoticeIssued');
    expect(notices.map((e) => [e.data['daysBefore'], e.data['issuedAt']])).toEqual([
      [30, NOTICE_30],
      [7, NOTICE_7],
    ]);
    const seq = all.map((e) => e.type);
    expect(seq.indexOf('SubscriptionExpired')).toBeLessThan(seq.indexOf('PurgeNoticeIssued'));
    expect(seq.lastIndexOf('PurgeNoticeIssued')).toBeLessThan(seq.indexOf('PurgeStarted'));
    expect(seq.filter((x) => x === 'PurgeStarted')).toHaveLength(1);
    const started = all.find((e) => e.type === 'PurgeStarted')!;
    expect(started.data).toMatchObject({ purgeId: purgeJobId('sub_n1', ms(PURGE_AT)) });
    await scheduled(t);
    expect(await jobIds(t, 'purge-notice')).toEqual([]);
  });

  it('D7: a reactivation removes the notice job; none is issued afterwards', async () => {
    await register(t, { subscriptionId: 'sub_n2' });
    await cancel(t, 'sub_n2');
    await moveClock(t, FEB_28);
    await scheduled(t);
    expect(await scheduledJobIds(t, 'purge-notice')).toEqual([
      purgeNoticeJobId('sub_n2', 30, ms(NOTICE_30)),
    ]);
    const res = await post(t, '/v1/subscriptions/sub_n2/reactivation', {
      requestedBy: billingAdmin,
      channel: 'self_service',
    });
    expect(res.statusCode).toBe(200);
    await scheduled(t);
    expect(await scheduledJobIds(t, 'purge-notice')).toEqual([]);
    expect(await jobIds(t, 'purge-notice')).toEqual([]);
    await moveClock(t, NOTICE_7);
    expect(await types(t, 'sub_n2')).not.toContain('PurgeNoticeIssued');
  });

  it('D7: the reconciler rebuilds the notice job after the queue is emptied', async () => {
    await register(t, { subscriptionId: 'sub_n3' });
    await cancel(t, 'sub_n3');
    await moveClock(t, FEB_28);
    // A day before the notice: within the 48 h horizon, so the job is in Redis.
    await moveClock(t, new Date(ms(NOTICE_30) - 86_400_000).toISOString());
    await scheduled(t);
    const id = purgeNoticeJobId('sub_n3', 30, ms(NOTICE_30));
    expect(await jobIds(t, 'purge-notice', ['delayed'])).toEqual([id]);

    await t.lifecycle.queues!.queue('purge-notice').obliterate({ force: true });
    await t.lifecycle.queues!.connection.zrem(t.lifecycle.queues!.dueIndexKey, id);
    expect(await jobIds(t, 'purge-notice')).toEqual([]);

    const report = (await t.lifecycle.reconcileNow())!;
    expect(report).toMatchObject({ recreated: 1, caughtUp: true });
    const job = await t.lifecycle.queues!.queue('purge-notice').getJob(id);
    expect(job?.data).toEqual({ subscriptionId: 'sub_n3', accountId: 'acc_1', dueAt: NOTICE_30 });
    // And the rebuilt job runs at its time, once.
    await moveClock(t, NOTICE_30);
    expect((await types(t, 'sub_n3')).filter((x) => x === 'PurgeNoticeIssued')).toHaveLength(1);
  });
});
