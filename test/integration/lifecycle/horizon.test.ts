import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import pino from 'pino';
import { DateTime } from 'luxon';
import { createRedisConnection, FixedClock, SystemClock } from '@app/platform';
import {
  type DesiredJob,
  LifecycleQueues,
  purgeJobId,
  ScheduleLoader,
  type ScheduleRow,
  ScheduleTable,
  type ScheduleTableOptions,
  termEndJobId,
} from '@app/scheduling';
import { testPgUrl } from '../../support/postgres-url';
import { usePrivateRedis } from '../../support/redis-harness';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import {
  billingAdmin,
  cancel,
  CommandRunner,
  del,
  deleteKeys,
  freshPrefix,
  jobIds,
  type LifecycleApp,
  moveClock,
  post,
  register,
  registerMany,
  scheduled,
  startLifecycleApp,
  types,
  until,
} from './lifecycle-harness';

/**
 * Scheduling at scale (the goal 4): Redis holds only the jobs due within the horizon
 * (LIFECYCLE_HORIZON_HOURS, 48 h by default); the others wait in the schedule table and the loader
 * moves them in ahead of time. Real Redis (private redis-server), real SQLite files, PostgreSQL for
 * the table's due-index queries.
 */

const H = 3_600_000;
const HORIZON = 48 * H;
const START = '2026-02-10T09:00:00.000Z';
const ms = (iso: string) => Date.parse(iso);
// Monthly plan started on Jan 10 at 10:30 in Rome: its term ends on Feb 10 at 09:30 UTC, half an
// hour after START.
const NEAR_END = '2026-02-10T09:30:00.000Z';
// Annual plan started on Feb 10 at 10:00 in Rome: its term ends a year later, 2027-02-10 09:00 UTC.
const FAR_END = '2027-02-10T09:00:00.000Z';
const near = { termStart: '2026-01-10T10:30:00+01:00', timeZone: 'Europe/Rome' };
const far = { termStart: '2026-02-10T10:00:00+01:00', plan: { kind: 'annual' } };

/** The job ids the schedule table calls for, of one kind (the jobs that exist, near or far). */
async function wanted(t: LifecycleApp, kind: DesiredJob['kind']): Promise<string[]> {
  const jobs = await t.lifecycle.table!.allDesiredJobs();
  return jobs.filter((j) => j.kind === kind).map((j) => j.jobId);
}

/** Every job id pending in Redis, over the three queues, sorted. */
async function inRedis(t: LifecycleApp): Promise<string[]> {
  const ids = [
    ...(await jobIds(t, 'term-end')),
    ...(await jobIds(t, 'purge')),
    ...(await jobIds(t, 'purge-notice')),
  ];
  return ids.sort();
}

/** The table's job ids due before `limitMs`, sorted: exactly what Redis must hold. */
async function wantedBefore(t: LifecycleApp, limitMs: number): Promise<string[]> {
  const jobs = await t.lifecycle.table!.allDesiredJobs();
  return jobs
    .filter((j) => j.dueMs < limitMs)
    .map((j) => j.jobId)
    .sort();
}

describe('scheduling at scale: Redis holds the jobs due within the horizon', () => {
  const redis = usePrivateRedis();
  let t: LifecycleApp;
  afterEach(() => t?.close());

  it('scheduling at scale: registered subscriptions due in an hour and in a year: only the near job is in Redis, both are in the schedule table', async () => {
    t = await startLifecycleApp({ redisUrl: redis.url, start: START });
    expect(t.lifecycle.horizonMs).toBe(HORIZON);
    await register(t, { ...near, subscriptionId: 'sub_near' });
    await register(t, { ...far, subscriptionId: 'sub_far' });
    await scheduled(t);
    expect(await jobIds(t, 'term-end', ['delayed'])).toEqual([
      termEndJobId('sub_near', ms(NEAR_END)),
    ]);
    expect((await wanted(t, 'term-end')).sort()).toEqual(
      [termEndJobId('sub_far', ms(FAR_END)), termEndJobId('sub_near', ms(NEAR_END))].sort(),
    );
    // A loader run (start-up, interval) leaves the far one in the table.
    await t.lifecycle.loadNow();
    expect(await inRedis(t)).toEqual([termEndJobId('sub_near', ms(NEAR_END))]);
    expect(await t.lifecycle.loader!.watermark()).toBe(ms(START) + HORIZON);
  });

  it('scheduling at scale: the loader moves a job into Redis once the clock comes within the horizon of it, and it runs at its due time', async () => {
    t = await startLifecycleApp({ redisUrl: redis.url, start: START });
    await register(t, { ...far, subscriptionId: 'sub_far', autoRenew: false });
    await scheduled(t);
    const job = termEndJobId('sub_far', ms(FAR_END));
    expect(await inRedis(t)).toEqual([]);

    // 49 hours before: still only in the table.
    await moveClock(t, new Date(ms(FAR_END) - 49 * H).toISOString());
    await t.lifecycle.loadNow();
    expect(await inRedis(t)).toEqual([]);
    // 47 hours before: the clock's move loaded it (delayed, due in 47 h of controlled time).
    await moveClock(t, new Date(ms(FAR_END) - 47 * H).toISOString());
    expect(await jobIds(t, 'term-end', ['delayed'])).toEqual([job]);
    expect(await t.lifecycle.loader!.watermark()).toBe(ms(FAR_END) - 47 * H + HORIZON);
    expect(await types(t, 'sub_far')).toEqual(['SubscriptionRegistered']);

    await moveClock(t, FAR_END);
    expect(await types(t, 'sub_far')).toEqual(['SubscriptionRegistered', 'SubscriptionExpired']);
  });

  it('scheduling at scale: a jump of months steps through every due instant on the way, loaded from the table (renewals at their own term ends)', async () => {
    t = await startLifecycleApp({ redisUrl: redis.url, start: START });
    await register(t, {
      subscriptionId: 'sub_m',
      timeZone: 'UTC',
      termStart: '2026-01-15T00:00:00Z',
    });
    const moved = await moveClock(t, '2026-06-01T00:00:00.000Z');
    expect(moved.steps).toBe(4);
    const renewedAt = (await t.raw.readStream('subscription-sub_m'))
      .filter((e) => e.type === 'SubscriptionRenewed')
      .map((e) => e.data['renewedAt']);
    expect(renewedAt).toEqual([
      '2026-02-15T00:00:00.000Z',
      '2026-03-15T00:00:00.000Z',
      '2026-04-15T00:00:00.000Z',
      '2026-05-15T00:00:00.000Z',
    ]);
    // The next term end (June 15) is two weeks away: in the table, not in Redis.
    await scheduled(t);
    expect(await wanted(t, 'term-end')).toEqual([
      termEndJobId('sub_m', ms('2026-06-15T00:00:00.000Z')),
    ]);
    expect(await inRedis(t)).toEqual([]);
  });

  it('scheduling at scale: after FLUSHALL the loader and the reconciler restore exactly the jobs within the horizon, none further', async () => {
    t = await startLifecycleApp({ redisUrl: redis.url, start: START });
    // 60 monthly subscriptions started on January 11 to 28 at 08:00 UTC: term ends on February
    // 11 to 28; within 48 h of Feb 10 09:00 only those of Feb 11 and Feb 12 (8 of them).
    const ids = Array.from({ length: 60 }, (_, i) => `sub_f${String(i).padStart(2, '0')}`);
    await registerMany(t.app.get(CommandRunner), ids, (id) => {
      const n = Number(id.slice(-2));
      return {
        accountId: `acc_${n}`,
        termStart: `2026-01-${String(11 + (n % 18)).padStart(2, '0')}T08:00:00Z`,
        timeZone: 'UTC',
      };
    });
    await scheduled(t);
    await t.lifecycle.loadNow();
    const limit = ms(START) + HORIZON;
    const expected = await wantedBefore(t, limit);
    expect(expected).toHaveLength(8);
    expect(await inRedis(t)).toEqual(expected);
    expect((await t.lifecycle.table!.allDesiredJobs()).length).toBe(60);

    // The loader alone: its watermark went with the data, so it loads the whole horizon again.
    await redis.flushAll();
    expect(await t.lifecycle.loader!.watermark()).toBeNull();
    const load = (await t.lifecycle.loadNow())!;
    expect(load).toMatchObject({ fromMs: null, untilMs: limit, loaded: 8, withdrawn: 0 });
    expect(await inRedis(t)).toEqual(expected);

    // The reconciler alone: recreates the in-horizon jobs, adds no far one.
    await redis.flushAll();
    expect(await t.lifecycle.reconcileNow()).toMatchObject({
      desired: 8,
      present: 0,
      recreated: 8,
      removed: 0,
      caughtUp: true,
    });
    expect(await inRedis(t)).toEqual(expected);

    // A far job the table calls for, already in Redis (loaded under a longer horizon), stays; a
    // far job the table does not call for is stale and goes.
    const queues = t.lifecycle.queues!;
    const farWanted = (await t.lifecycle.table!.allDesiredJobs()).find((j) => j.dueMs > limit)!;
    const bogus: DesiredJob = {
      ...farWanted,
      jobId: termEndJobId('sub_nobody', farWanted.dueMs),
      data: { ...farWanted.data, subscriptionId: 'sub_nobody' },
    };
    await queues.schedule([farWanted, bogus]);
    expect(await t.lifecycle.reconcileNow()).toMatchObject({
      desired: 8,
      present: 8,
      recreated: 0,
      removed: 1,
    });
    expect(await inRedis(t)).toEqual([...expected, farWanted.jobId].sort());
  });

  it('scheduling at scale: a far subscription cancelled, withdrawn, expired and reactivated never has a stale job in Redis, and ends with the right ones', async () => {
    t = await startLifecycleApp({ redisUrl: redis.url, start: START });
    await register(t, { ...far, subscriptionId: 'sub_c' });
    await cancel(t, 'sub_c');
    const withdrawn = await del(t, '/v1/subscriptions/sub_c/cancellation', {
      requestedBy: billingAdmin,
      channel: 'support',
    });
    expect(withdrawn.statusCode).toBe(200);
    const { purgeAt } = await cancel(t, 'sub_c');
    await scheduled(t);
    await t.lifecycle.loadNow();
    expect(await inRedis(t)).toEqual([]);
    expect(await wanted(t, 'term-end')).toEqual([termEndJobId('sub_c', ms(FAR_END))]);

    // At the term end it expires; the purge (90 days) and the first notice (60 days) are far.
    await moveClock(t, FAR_END);
    expect(await types(t, 'sub_c')).toContain('SubscriptionExpired');
    await scheduled(t);
    expect(await wanted(t, 'purge')).toEqual([purgeJobId('sub_c', ms(purgeAt))]);
    expect(await inRedis(t)).toEqual([]);

    // Reactivated within the grace period: the purge and the notice leave the table, never
    // having been in Redis; a year later nothing was purged or noticed.
    const res = await post(t, '/v1/subscriptions/sub_c/reactivation', {
      requestedBy: billingAdmin,
      channel: 'support',
    });
    expect(res.statusCode).toBe(200);
    await scheduled(t);
    expect(await wanted(t, 'purge')).toEqual([]);
    expect(await wanted(t, 'purge-notice')).toEqual([]);
    await moveClock(t, new Date(ms(purgeAt) + 24 * H).toISOString());
    const all = await types(t, 'sub_c');
    expect(all).not.toContain('PurgeNoticeIssued');
    expect(all).not.toContain('PurgeStarted');
    expect(await jobIds(t, 'purge', ['delayed', 'wait', 'active', 'failed', 'completed'])).toEqual(
      [],
    );
  });

  it('scheduling at scale, never early, never lost: on the real clock the loader moves a job in by itself ahead of its due time, and it runs at its term end, not before', async () => {
    // A horizon of 4 s and a loader every 500 ms, on the system clock: the same invariant as
    // 48 h and a minute, in seconds (the term end 10 s away leaves the scheduler 6 s to derive
    // it before it would be within the horizon already).
    t = await startLifecycleApp({
      redisUrl: redis.url,
      clock: new SystemClock(),
      lifecycle: { horizonMs: 4000, loaderIntervalMs: 500 },
    });
    const termEnd = DateTime.utc().plus({ seconds: 10 }).startOf('second');
    await register(t, {
      subscriptionId: 'sub_rt',
      autoRenew: false,
      timeZone: 'UTC',
      termStart: termEnd.minus({ months: 1 }).toISO(),
    });
    await scheduled(t);
    const job = termEndJobId('sub_rt', termEnd.toMillis());
    expect(await wanted(t, 'term-end')).toEqual([job]);
    expect(await inRedis(t)).toEqual([]);
    await until(async () => (await inRedis(t)).includes(job), 'the loader to move the job in');
    const loadedAt = Date.now();
    expect(loadedAt).toBeLessThan(termEnd.toMillis() - 1500);
    expect(loadedAt).toBeGreaterThanOrEqual(termEnd.toMillis() - 4000);
    expect(await types(t, 'sub_rt')).toEqual(['SubscriptionRegistered']);
    await until(
      async () => (await types(t, 'sub_rt')).includes('SubscriptionExpired'),
      'the expiry',
      15_000,
    );
    const expired = (await t.raw.readStream('subscription-sub_rt')).find(
      (e) => e.type === 'SubscriptionExpired',
    )!;
    expect(Date.parse(expired.data['expiredAt'] as string)).toBeGreaterThanOrEqual(
      termEnd.toMillis(),
    );
  }, 30_000);

  it('scheduling at scale: two processes on one store and one Redis: one loader (the scheduler lease), the other loads nothing until it takes the lease over', async () => {
    const dataDir = makeTmpDir('sub-eol-horizon-');
    const prefix = freshPrefix();
    const replicas: LifecycleApp[] = [];
    try {
      for (let i = 0; i < 2; i++)
        replicas.push(
          await startLifecycleApp({ redisUrl: redis.url, start: START, dataDir, prefix }),
        );
      const [a, b] = replicas as [LifecycleApp, LifecycleApp];
      expect([a.lifecycle.schedules, b.lifecycle.schedules].filter(Boolean)).toHaveLength(1);
      const holder = a.lifecycle.schedules ? a : b;
      const other = holder === a ? b : a;
      expect(await other.lifecycle.loadNow()).toBeNull();
      await register(other, { ...near, subscriptionId: 'sub_l' });
      await holder.lifecycle.scheduler!.waitCaughtUp();
      await redis.flushAll();
      expect(await other.lifecycle.loadNow()).toBeNull();
      expect(await jobIds(holder, 'term-end')).toEqual([]);
      expect(await holder.lifecycle.loadNow()).toMatchObject({ fromMs: null, loaded: 1 });
      expect(await jobIds(other, 'term-end')).toEqual([termEndJobId('sub_l', ms(NEAR_END))]);

      // The holder stops: the other takes the lease over, and with it the loading.
      await holder.close();
      replicas.splice(replicas.indexOf(holder), 1);
      await until(async () => other.lifecycle.schedules, 'the other process to take the lease');
      await redis.flushAll();
      // (The load the take-over started may still be running and add the job itself: loaded 0 or 1.)
      expect(await other.lifecycle.loadNow()).toMatchObject({ fromMs: null });
      expect(await jobIds(other, 'term-end')).toEqual([termEndJobId('sub_l', ms(NEAR_END))]);
    } finally {
      for (const r of replicas) await r.close();
      await deleteKeys(redis.url, prefix);
      removeTmpDir(dataDir);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The loader and the table's due queries on both stores (SQLite files and PostgreSQL).

const T0 = Date.UTC(2027, 0, 1);

function termEnd(subscriptionId: string, dueMs: number): DesiredJob {
  return {
    kind: 'term-end',
    jobId: termEndJobId(subscriptionId, dueMs),
    dueMs,
    data: { subscriptionId, accountId: 'acc_1', dueAt: new Date(dueMs).toISOString() },
  };
}

const row = (subscriptionId: string, revision: number, dueMs: number | null): ScheduleRow => ({
  subscriptionId,
  accountId: 'acc_1',
  revision,
  status: 'active',
  jobs: dueMs === null ? [] : [termEnd(subscriptionId, dueMs)],
});

interface Store {
  readonly name: string;
  setUp(): Promise<ScheduleTableOptions>;
  tearDown(): Promise<void>;
}

function sqliteStore(): Store {
  let dir: string | null = null;
  return {
    name: 'SQLite',
    setUp: async () => ({ dataDir: (dir = makeTmpDir('sub-eol-horizon-table-')) }),
    tearDown: async () => {
      if (dir) removeTmpDir(dir);
      dir = null;
    },
  };
}

function postgresStore(): Store {
  let schema: string | null = null;
  let dir: string | null = null;
  return {
    name: 'PostgreSQL',
    setUp: async () => {
      schema = `horizon_test_${randomBytes(6).toString('hex')}`;
      dir = makeTmpDir('sub-eol-horizon-table-pg-');
      const url = new URL(testPgUrl());
      url.searchParams.set('schema', schema);
      return { dataDir: dir, readDbUrl: url.toString() };
    },
    tearDown: async () => {
      const dropped = schema;
      schema = null;
      if (dropped) {
        const client = new Client({ connectionString: testPgUrl() });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(dropped)} CASCADE`);
        await client.end();
      }
      if (dir) removeTmpDir(dir);
      dir = null;
    },
  };
}

describe.each([sqliteStore(), postgresStore()])(
  'the loader on the schedule table in $name',
  (store) => {
    const redis = usePrivateRedis();
    let table: ScheduleTable;
    let prefix: string;
    let connection: ReturnType<typeof createRedisConnection>;
    let queues: LifecycleQueues;
    const logger = pino({ level: 'silent' });

    beforeEach(async () => {
      table = await ScheduleTable.open(await store.setUp());
      prefix = freshPrefix();
      connection = createRedisConnection(redis.url, { forWorker: false });
      queues = new LifecycleQueues({
        connection,
        prefix,
        clock: new FixedClock(new Date(T0).toISOString()),
        trackDueTimes: false,
      });
    });
    afterEach(async () => {
      await queues.close();
      connection.disconnect();
      await deleteKeys(redis.url, prefix);
      await table.close();
      await store.tearDown();
    });

    it('scheduling at scale: jobsDue reads the jobs due in a range through the due index, in keyset pages across equal due instants; nextDueAfter finds the next one', async () => {
      // 25 subscriptions due at one instant (a month end), 5 an hour later, 3 without a job.
      await table.putAll([
        ...Array.from({ length: 25 }, (_, i) => row(`sub_a${String(i).padStart(2, '0')}`, 0, T0)),
        ...Array.from({ length: 5 }, (_, i) => row(`sub_b${i}`, 0, T0 + H)),
        ...Array.from({ length: 3 }, (_, i) => row(`sub_c${i}`, 0, null)),
      ]);
      const pages: DesiredJob[][] = [];
      for await (const page of table.jobsDue(null, T0 + 2 * H, 7)) pages.push(page);
      expect(pages.map((p) => p.length)).toEqual([7, 7, 7, 7, 2]);
      const read = pages.flat();
      expect(new Set(read.map((j) => j.jobId)).size).toBe(30);
      expect(read.map((j) => j.dueMs)).toEqual([...Array(25).fill(T0), ...Array(5).fill(T0 + H)]);
      const within: DesiredJob[] = [];
      for await (const page of table.jobsDue(T0 + 1, T0 + H + 1)) within.push(...page);
      expect(within.map((j) => j.data.subscriptionId)).toEqual([
        'sub_b0',
        'sub_b1',
        'sub_b2',
        'sub_b3',
        'sub_b4',
      ]);
      expect(await table.nextDueAfter(T0, T0 + 10 * H)).toBe(T0 + H);
      expect(await table.nextDueAfter(T0 + H, T0 + 10 * H)).toBeNull();
      expect(await table.nextDueAfter(T0 - 1, T0 + 10 * H)).toBe(T0);
    });

    it('scheduling at scale: the loader adds the jobs due before now + horizon from its watermark, and never one the table no longer calls for', async () => {
      const loader = new ScheduleLoader({
        table,
        queues,
        clock: new FixedClock(new Date(T0).toISOString()),
        horizonMs: 10 * H,
        logger,
        pageSize: 3,
      });
      await table.putAll([
        row('sub_1', 0, T0 + H),
        row('sub_2', 0, T0 + 9 * H),
        row('sub_3', 0, T0 + 11 * H),
      ]);
      expect(await loader.load()).toMatchObject({
        fromMs: null,
        untilMs: T0 + 10 * H,
        read: 2,
        loaded: 2,
      });
      expect((await queues.jobIds('term-end', ['delayed'])).sort()).toEqual([
        termEndJobId('sub_1', T0 + H),
        termEndJobId('sub_2', T0 + 9 * H),
      ]);
      // A second run reads from the watermark: nothing new.
      expect(await loader.load()).toMatchObject({ fromMs: T0 + 10 * H, read: 0, loaded: 0 });

      // The loader read a row the scheduler has replaced since (a cancellation moving the term
      // end, a reactivation): the job it added is withdrawn at once.
      const stale = termEnd('sub_3', T0 + 11 * H);
      await table.putAll([row('sub_3', 1, T0 + 30 * H)]);
      const lagging = Object.create(table) as ScheduleTable;
      lagging.jobsDue = async function* () {
        yield [stale];
      };
      const racing = new ScheduleLoader({
        table: lagging,
        queues,
        clock: new FixedClock(new Date(T0 + 5 * H).toISOString()),
        horizonMs: 10 * H,
        logger,
      });
      expect(await racing.loadBefore(T0 + 15 * H)).toBe(0);
      expect(await queues.queue('term-end').getJob(stale.jobId)).toBeUndefined();
    });

    it('scheduling at scale, never lost: Redis lost during a full load (its first page gone with the flush) keeps the watermark from moving past that page; the next run loads it again', async () => {
      await table.putAll([row('sub_1', 0, T0 + H), row('sub_2', 0, T0 + 2 * H)]);
      // The table, read page by page; Redis loses its data after the first page was added.
      const flushing = Object.create(table) as ScheduleTable;
      flushing.jobsDue = async function* (from, until) {
        let first = true;
        for await (const page of table.jobsDue(from, until, 1)) {
          if (!first) await connection.flushall();
          first = false;
          yield page;
        }
      };
      const options = {
        queues,
        clock: new FixedClock(new Date(T0).toISOString()),
        horizonMs: 10 * H,
        logger,
      };
      await new ScheduleLoader({ ...options, table: flushing }).load();
      expect(await queues.jobIds('term-end', ['delayed'])).toEqual([
        termEndJobId('sub_2', T0 + 2 * H),
      ]);
      const loader = new ScheduleLoader({ ...options, table });
      expect(await loader.watermark()).toBeNull();
      expect(await loader.load()).toMatchObject({ fromMs: null, loaded: 1 });
      expect((await queues.jobIds('term-end', ['delayed'])).sort()).toEqual([
        termEndJobId('sub_1', T0 + H),
        termEndJobId('sub_2', T0 + 2 * H),
      ]);
    });

    it('scheduling at scale: each run reads again a little below the watermark (a row a scheduler that lost its lease committed late)', async () => {
      const options = {
        queues,
        clock: new FixedClock(new Date(T0).toISOString()),
        horizonMs: 10 * H,
        logger,
      };
      const loader = new ScheduleLoader({ ...options, table, overlapMs: H });
      expect(await loader.load()).toMatchObject({ fromMs: null, untilMs: T0 + 10 * H, loaded: 0 });
      // Committed after the run moved the watermark, due just below it.
      await table.putAll([row('sub_late', 0, T0 + 10 * H - 60_000)]);
      expect(await loader.load()).toMatchObject({ fromMs: T0 + 9 * H, loaded: 1 });
      expect(await queues.jobIds('term-end', ['delayed'])).toEqual([
        termEndJobId('sub_late', T0 + 10 * H - 60_000),
      ]);
    });
  },
);
