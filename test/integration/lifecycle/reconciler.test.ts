import { MetricsService } from '@app/metrics';
import { CommandRunner } from '@app/infrastructure';
import { dueMsOfJobId, LIFECYCLE_JOB_OPTIONS, termEndJobId } from '@app/scheduling';
import { usePrivateRedis } from '../../support/redis-harness';
import {
  type LifecycleApp,
  moveClock,
  registerMany,
  scheduled,
  startLifecycleApp,
  types,
} from './lifecycle-harness';

// Three chunks of the reconciler's 1,000-job writes and six scheduler batches; 10,000 took 3× as
// long and proved nothing more.
const N = 3_000;
const ids = (n: number, p = 'sub_') =>
  Array.from({ length: n }, (_, i) => `${p}${String(i).padStart(5, '0')}`);
/** Monthly subscriptions started on every day of January 2026 (so term ends spread over February). */
const monthlyFrom = (id: string) => {
  const day = (Number(id.slice(-5)) % 28) + 1;
  return {
    accountId: `acc_${Number(id.slice(-5)) % 500}`,
    termStart: `2026-01-${String(day).padStart(2, '0')}T09:00:00+01:00`,
    autoRenew: Number(id.slice(-5)) % 3 !== 0,
  };
};

/**
 * A horizon covering February and March: these tests are about restoring every job of thousands of
 * subscriptions, so every job they make is to be in Redis. With the default 48 h the reconciler
 * restores only those due within the horizon (horizon.test.ts shows it).
 */
const HORIZON = { horizonMs: 60 * 86_400_000 };

/** Every delayed term-end job: id → fire time in ms (BullMQ's score is time × 0x1000 + a counter). */
async function delayedTermEnds(t: LifecycleApp): Promise<Map<string, number>> {
  const key = `${t.prefix}:lifecycle-term-end:delayed`;
  const flat = await t.lifecycle.queues!.connection.zrange(key, '0', '-1', 'WITHSCORES');
  const out = new Map<string, number>();
  for (let i = 0; i < flat.length; i += 2)
    out.set(flat[i]!, Math.floor(Number(flat[i + 1]) / 0x1000));
  return out;
}

describe('reconciler: every timer comes back (AOF Redis)', () => {
  const redis = usePrivateRedis({ persistence: 'aof' });
  let t: LifecycleApp;
  afterEach(() => t.close());

  it('R14/R15: after FLUSHALL the reconciler restores 100 % of the jobs of 3,000 subscriptions, due times intact', async () => {
    t = await startLifecycleApp({
      redisUrl: redis.url,
      start: '2026-02-10T09:00:00.000Z',
      lifecycle: HORIZON,
    });
    await registerMany(t.app.get(CommandRunner), ids(N), monthlyFrom);
    await scheduled(t);
    const before = await delayedTermEnds(t);
    expect(before.size).toBe(N);

    await redis.flushAll();
    expect((await delayedTermEnds(t)).size).toBe(0);

    const report = (await t.lifecycle.reconcileNow())!;
    expect(report).toMatchObject({
      desired: N,
      present: 0,
      recreated: N,
      removed: 0,
      caughtUp: true,
    });
    const after = await delayedTermEnds(t);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    // Each restored job fires its due time minus the controlled "now", from the moment it was
    // re-added: fire time − due time is the same (real − controlled) offset for all of them.
    const offset = Date.now() - t.clock.now().toMillis();
    const drift = [...after].map(([id, at]) => at - dueMsOfJobId(id)! - offset);
    expect(Math.min(...drift)).toBeGreaterThan(-10_000);
    expect(Math.max(...drift)).toBeLessThan(1_000);
    // sub_00020 started on Jan 21 at 09:00 in Rome: its term ends on Feb 21 at 09:00 in Rome.
    const job = await t.lifecycle
      .queues!.queue('term-end')
      .getJob(termEndJobId('sub_00020', Date.parse('2026-02-21T08:00:00.000Z')));
    expect(job?.data).toEqual({
      subscriptionId: 'sub_00020',
      accountId: 'acc_20',
      dueAt: '2026-02-21T08:00:00.000Z',
    });

    // Reported as a metric too, on the process registry (GET /metrics).
    const scrape = await t.app.get(MetricsService).scrape();
    expect(scrape).toContain(
      `subscriptions_lifecycle_reconciler_last_run_jobs{count="recreated"} ${N}\n`,
    );
    expect(scrape).toContain(`subscriptions_reconciler_repairs_total{kind="job_recreated"} ${N}\n`);

    // A second pass finds everything in place; the restored timers fire.
    expect(await t.lifecycle.reconcileNow()).toMatchObject({
      desired: N,
      present: N,
      recreated: 0,
    });
    await moveClock(t, '2026-02-11T09:00:00.000Z');
    expect(await types(t, 'sub_00010')).toEqual(['SubscriptionRegistered', 'SubscriptionRenewed']);
    // sub_00066 (Jan 11, auto-renew off) expires.
    expect(await types(t, 'sub_00066')).toEqual(['SubscriptionRegistered', 'SubscriptionExpired']);
  }, 120_000);

  it('removes a job the log does not call for (stale), and leaves the others', async () => {
    t = await startLifecycleApp({ redisUrl: redis.url, lifecycle: HORIZON });
    await registerMany(t.app.get(CommandRunner), ids(20, 'sub_s'), monthlyFrom);
    await scheduled(t);
    const queue = t.lifecycle.queues!.queue('term-end');
    const bogus = termEndJobId('sub_nobody', Date.parse('2026-03-01T00:00:00.000Z'));
    await queue.add(
      'term-end',
      { subscriptionId: 'sub_nobody', accountId: 'acc_x', dueAt: '2026-03-01T00:00:00.000Z' },
      { ...LIFECYCLE_JOB_OPTIONS, jobId: bogus, delay: 60_000 },
    );
    expect(await t.lifecycle.reconcileNow()).toMatchObject({
      desired: 20,
      present: 20,
      recreated: 0,
      removed: 1,
    });
    expect(await queue.getJob(bogus)).toBeUndefined();
    expect(await queue.getDelayedCount()).toBe(20);
  });

  it('R14: Redis killed (SIGKILL) and restarted with its AOF: the jobs survive without the reconciler', async () => {
    t = await startLifecycleApp({
      redisUrl: redis.url,
      lifecycle: { ...HORIZON, reconcileOnStart: false, reconcileIntervalMs: 3_600_000 },
    });
    await registerMany(t.app.get(CommandRunner), ids(500, 'sub_a'), monthlyFrom);
    await scheduled(t);
    const before = await delayedTermEnds(t);
    expect(before.size).toBe(500);
    await new Promise((r) => setTimeout(r, 1500)); // appendfsync everysec
    await redis.kill('SIGKILL');
    await redis.restart();
    const after = await delayedTermEnds(t);
    expect(after).toEqual(before);
    // The app's connections and workers came back by themselves: the timers fire.
    await moveClock(t, '2026-02-11T09:00:00.000Z');
    expect(await types(t, 'sub_a00010')).toEqual(['SubscriptionRegistered', 'SubscriptionRenewed']);
  }, 60_000);
});

describe('reconciler: Redis without persistence', () => {
  const redis = usePrivateRedis({ persistence: 'none' });

  it('R14: Redis restarted without persistence loses every job; the reconciler restores them all', async () => {
    const t = await startLifecycleApp({
      redisUrl: redis.url,
      lifecycle: { ...HORIZON, reconcileIntervalMs: 3_600_000 },
    });
    try {
      await registerMany(t.app.get(CommandRunner), ids(500, 'sub_n'), monthlyFrom);
      await scheduled(t);
      const before = await delayedTermEnds(t);
      await redis.restart();
      expect((await delayedTermEnds(t)).size).toBe(0);
      expect(await t.lifecycle.reconcileNow()).toMatchObject({ desired: 500, recreated: 500 });
      expect([...(await delayedTermEnds(t)).keys()].sort()).toEqual([...before.keys()].sort());
      await moveClock(t, '2026-02-11T09:00:00.000Z');
      expect(await types(t, 'sub_n00010')).toEqual([
        'SubscriptionRegistered',
        'SubscriptionRenewed',
      ]);
    } finally {
      await t.close();
    }
  }, 60_000);
});
