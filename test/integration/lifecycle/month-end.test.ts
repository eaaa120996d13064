import { DateTime } from 'luxon';
import type { EventStore, RecordedEvent } from '@app/event-store';
import { CommandRunner, RAW_EVENT_STORE } from '@app/infrastructure';
import { ControlledClock } from '@app/platform';
import { usePrivateRedis } from '../../support/redis-harness';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import {
  deleteKeys,
  freshPrefix,
  type LifecycleApp,
  registerMany,
  startLifecycleApp,
  until,
} from './lifecycle-harness';

// 7.5 times the term-end jobs the two replicas run at once (200 each): enough for races between
// them and a share for each. Volume is bench:month-end's (100,000); 10,000 here took 3× as long.
const N = 3_000;

async function allEvents(store: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  let after: bigint | undefined;
  for (;;) {
    const page = await store.readAll({ ...(after !== undefined ? { after } : {}), maxCount: 5000 });
    if (page.length === 0) return out;
    out.push(...page);
    after = page.at(-1)!.position;
  }
}

describe('month end: 3,000 subscriptions with the same term end', () => {
  const redis = usePrivateRedis();

  it('R14: all 3,000 expire exactly once, none before the term end, on two worker replicas; 3,000 purge jobs follow', async () => {
    const dataDir = makeTmpDir('sub-eol-month-end-');
    const prefix = freshPrefix();
    // One controlled clock for both replicas (as if they shared the real one); the move to the
    // term end is made through a replica's clock driver, like POST /v1/ops/clock.
    const clock = new ControlledClock('2026-03-20T10:00:00.000Z');
    const termEnd = DateTime.fromISO('2026-03-28T22:00:00.000Z', { zone: 'utc' });
    const replicas: LifecycleApp[] = [];
    try {
      // Two complete replicas (scheduler, reconciler, workers) on one log and one Redis.
      for (let i = 0; i < 2; i++)
        replicas.push(await startLifecycleApp({ redisUrl: redis.url, clock, dataDir, prefix }));
      // Term-end jobs only append, so many run at once; purges call the data holders: fewer.
      const workers = replicas[0]!.lifecycle.workers!.workers;
      expect([workers['term-end'].concurrency, workers['purge-notice'].concurrency]).toEqual([
        200, 200,
      ]);
      expect(workers.purge.concurrency).toBe(50);
      const ran = replicas.map(() => 0);
      replicas.forEach((r, i) =>
        r.lifecycle.workers!.workers['term-end'].on('completed', () => void ran[i]!++),
      );

      const ids = Array.from({ length: N }, (_, i) => `sub_me${i}`);
      await registerMany(replicas[0]!.app.get(CommandRunner), ids, (id) => ({
        accountId: `acc_${id.slice(-3)}`,
        productId: id.endsWith('7') ? 'goto-room' : 'goto-meeting',
        termStart: '2026-02-28T22:00:00.000Z',
        timeZone: 'UTC',
        autoRenew: false,
      }));
      for (const r of replicas) await r.lifecycle.scheduler!.waitCaughtUp();
      const terms = replicas[0]!.lifecycle.queues!.queue('term-end');
      const table = replicas[0]!.lifecycle.table!;
      const scheduledOfKind = async (kind: string) =>
        (await table.allDesiredJobs()).filter((j) => j.kind === kind).length;
      // Eight days away: every job in the schedule table, none yet in Redis (48 h horizon).
      expect(await scheduledOfKind('term-end')).toBe(N);
      expect(await terms.getDelayedCount()).toBe(0);

      // Six days on, within the horizon: the move loaded all 3,000 into Redis; none ran.
      await replicas[0]!.lifecycle.clockDriver!.advanceTo('2026-03-27T10:00:00.000Z');
      expect(await terms.getDelayedCount()).toBe(N);
      await replicas[0]!.lifecycle.clockDriver!.advanceTo('2026-03-28T21:59:59.999Z');
      expect(ran).toEqual([0, 0]);
      await replicas[1]!.lifecycle.clockDriver!.advanceTo(termEnd);
      // The purges, 90 days on, wait in the table.
      await until(async () => (await scheduledOfKind('purge')) === N, `${N} purge jobs`, 90_000);

      const store = replicas[0]!.app.get<EventStore>(RAW_EVENT_STORE);
      const expired = (await allEvents(store)).filter((e) => e.type === 'SubscriptionExpired');
      expect(expired).toHaveLength(N);
      expect(new Set(expired.map((e) => e.streamId)).size).toBe(N);
      expect(new Set(expired.map((e) => e.data['expiredAt']))).toEqual(new Set([termEnd.toISO()]));
      expect(await terms.getJobCounts()).toMatchObject({
        delayed: 0,
        waiting: 0,
        active: 0,
        failed: 0,
      });
      // Both replicas took a share of the jobs, and no job ran twice.
      expect(ran[0]! + ran[1]!).toBe(N);
      expect(Math.min(...ran)).toBeGreaterThan(0);
      const revoked = (await allEvents(store)).filter(
        (e) => e.type === 'RoomMeetingAccountRevoked',
      );
      expect(revoked).toHaveLength(N / 10);
    } finally {
      for (const r of replicas) await r.close();
      await deleteKeys(redis.url, prefix);
      removeTmpDir(dataDir);
    }
  }, 120_000);
});
