/**
 * npm run bench:schedule [-- N]   (or BENCH_N=…; default 100,000)
 * BENCH_MODE=horizon npm run bench:schedule [-- N]   (default 1,000,000): scheduling at scale,
 * see horizonBench below.
 *
 * 1. Scheduling rate from the log: N registrations in the event log, then the lifecycle scheduler
 *    starts from an empty checkpoint and puts one term-end job per subscription into Redis
 *    (read stream, fold, derive, addBulk, schedule table, checkpoint): jobs per second.
 * 2. Raw add rate of the same jobs (LifecycleQueues.schedule, addBulk in chunks of 1,000).
 * 3. Redis memory per pending lifecycle job: used_memory after minus before, divided by N (job
 *    hash + delayed sorted-set entry + BullMQ bookkeeping), next to MEMORY USAGE of one job hash.
 *    Target: at most 1 KB per job.
 * Conditions: SQLite event log (WAL, synchronous=FULL), private redis-server with AOF everysec,
 * the scheduler as the worker runs it (batches of 500 events) with a horizon of a year (every job
 * into Redis, as before the horizon), no workers (nothing is due).
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { subscriptionDecider } from '@app/domain';
import { SqliteEventStore } from '@app/event-store';
import { CommandRunner, openEventStores } from '@app/infrastructure';
import {
  createRedisConnection,
  FixedClock,
  loadConfig,
  startPrivateRedis,
  SystemClock,
} from '@app/platform';
import {
  type DesiredJob,
  Lifecycle,
  LifecycleQueues,
  LISTPACK_VALUE,
  ScheduleLoader,
  type ScheduleRow,
  ScheduleTable,
  termEndJobId,
} from '@app/scheduling';
import { machine } from './support/bench-server';
import { registration } from '../support/fixtures';

const HORIZON_MODE = process.env['BENCH_MODE'] === 'horizon';
const N = Number(process.argv[2] ?? process.env['BENCH_N'] ?? (HORIZON_MODE ? 1_000_000 : 100_000));
const TERM_END = '2027-01-31T23:00:00.000Z';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en')}/s`;

async function seed(dataDir: string): Promise<void> {
  const store = SqliteEventStore.open(join(dataDir, 'events.sqlite'));
  const now = '2026-12-15T12:00:00.000Z';
  const [registered] = subscriptionDecider.decide(
    {
      type: 'RegisterSubscription',
      data: registration({
        subscriptionId: 'x',
        accountId: 'x',
        termStart: '2027-01-01T00:00:00+01:00',
        now,
      }),
    },
    subscriptionDecider.initialState(),
  );
  let next = 0;
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      while (next < N) {
        const i = next++;
        const id = `sub_sched_${i}`;
        await store.appendToStream(
          `subscription-${id}`,
          [
            {
              type: registered!.type,
              data: { ...registered!.data, subscriptionId: id, accountId: `acc_${i % 5000}` },
              metadata: {
                correlationId: `seed-${i}`,
                causationId: null,
                commandId: null,
                actor: null,
                channel: 'support',
                recordedAt: now,
                schemaVersion: 1,
              },
            },
          ],
          { expectedRevision: 'no_stream' },
        );
      }
    }),
  );
  await store.close();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-schedule-'));
  // Started as the service starts its private redis-server (REDIS_URL unset).
  const redis = await startPrivateRedis({
    dataDir: join(dir, 'redis'),
    persistence: 'aof',
    extraArgs: ['--hash-max-listpack-value', String(LISTPACK_VALUE)],
  });
  const probe = createRedisConnection(redis.url, { forWorker: false });
  const usedMemory = async (): Promise<number> =>
    Number(/^used_memory:(\d+)/m.exec(await probe.info('memory'))![1]);
  console.log(`bench:schedule — N = ${N.toLocaleString('en')} pending lifecycle jobs`);
  console.log(`machine: ${machine()}`);
  console.log(`date: ${new Date().toISOString()}`);
  console.log(
    `redis: ${/^redis_version:(\S+)/m.exec(await probe.info('server'))![1]}, AOF everysec, noeviction, hash-max-listpack-value ${LISTPACK_VALUE}`,
  );
  try {
    const seeded = Date.now();
    await seed(dir);
    console.log(`seeded ${N.toLocaleString('en')} registrations in ${secs(Date.now() - seeded)}`);

    // 1. From the log, through the scheduler.
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: dir,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'silent',
    });
    const stores = openEventStores(config);
    const clock = new SystemClock();
    const before = await usedMemory();
    const lifecycle = await Lifecycle.create(
      {
        config,
        clock,
        logger: pino({ level: 'silent' }),
        store: stores.store,
        feed: stores.raw,
        runner: new CommandRunner(stores.store, clock),
      },
      // A horizon of a year: every job goes into Redis, as before the horizon (the figure stays
      // comparable; with the default 48 h these jobs, due in weeks, would wait in the table).
      {
        role: 'worker',
        reconcileOnStart: false,
        reconcileIntervalMs: 3_600_000,
        horizonMs: 365 * 86_400_000,
      },
    );
    const started = Date.now();
    lifecycle.start();
    const terms = lifecycle.queues!.queue('term-end');
    await lifecycle.scheduler!.waitCaughtUp(3_600_000);
    while ((await terms.getDelayedCount()) < N) await sleep(20);
    const fromLog = Date.now() - started;
    const after = await usedMemory();
    const oneJob = await probe.memory(
      'USAGE',
      `bull:lifecycle-term-end:${termEndJobId('sub_sched_1', Date.parse(TERM_END))}`,
    );
    await lifecycle.close();
    await stores.raw.close();

    // 2. The same jobs added directly (fresh prefixes): with the service's Redis settings, with
    //    the controlled clock's due-time index, and on a Redis with default settings.
    const addDirectly = async (prefix: string, trackDueTimes: boolean) => {
      const jobs: DesiredJob[] = Array.from({ length: N }, (_, i) => ({
        kind: 'term-end',
        jobId: termEndJobId(`sub_${prefix}_${i}`, Date.parse(TERM_END)),
        dueMs: Date.parse(TERM_END),
        data: {
          subscriptionId: `sub_${prefix}_${i}`,
          accountId: `acc_${i % 5000}`,
          dueAt: TERM_END,
        },
      }));
      const queues = new LifecycleQueues({
        connection: probe,
        prefix,
        clock: new FixedClock('2026-12-15T12:00:00.000Z'),
        trackDueTimes,
      });
      const m0 = await usedMemory();
      const t0 = Date.now();
      await queues.schedule(jobs);
      const ms = Date.now() - t0;
      const bytes = ((await usedMemory()) - m0) / N;
      await queues.close();
      return { ms, bytes };
    };
    const direct = await addDirectly('raw', false);
    const controlled = await addDirectly('ctl', true);
    await probe.config('SET', 'hash-max-listpack-value', '64');
    const defaults = await addDirectly('dflt', false);
    const perJob = (after - before) / N;
    console.log('results:');
    console.log(
      `  scheduling from the log (scheduler):    ${N.toLocaleString('en')} jobs in ${secs(fromLog)} = ${rate(N, fromLog)}`,
    );
    console.log(
      `  adding the same jobs directly (addBulk): ${secs(direct.ms)} = ${rate(N, direct.ms)}`,
    );
    console.log(
      `  Redis memory per pending job:            ${Math.round(perJob)} bytes (target ≤ 1024; service's Redis settings)`,
    );
    console.log(`    MEMORY USAGE of one job hash:          ${oneJob} bytes`);
    console.log(`    added directly, same settings:         ${Math.round(direct.bytes)} bytes`);
    console.log(
      `    + controlled-clock due-time index:     ${Math.round(controlled.bytes)} bytes (CLOCK_MODE=controlled only)`,
    );
    console.log(
      `    on a Redis with default settings:      ${Math.round(defaults.bytes)} bytes (hash-max-listpack-value 64)`,
    );
  } finally {
    probe.disconnect();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * BENCH_MODE=horizon: scheduling at scale. Redis holds only the jobs due within the horizon
 * (LIFECYCLE_HORIZON_HOURS, 48 h); the others wait in the schedule table and the loader
 * (ScheduleLoader) moves them into BullMQ ahead of time.
 *
 * 1. The schedule table (SQLite, DATA_DIR/scheduler.sqlite as the worker opens it, due indexes
 *    included) is seeded *directly* with N subscriptions, one term-end job each, spread over 2027:
 *    each month's share (N / 12) has 30 % of its term ends at the month's end instant (a month-end
 *    burst, as bench:month-end) and 70 % spread over the month. Seeding through the log would
 *    measure the scheduler, whose rate from the log is the default mode of this bench (and
 *    bench:month-end's); what is measured here starts at the table.
 * 2. Redis with the horizon: at a quiet instant (Jan 15) and at the peak (47 h before the
 *    January month end, the burst within the horizon), a loader run from a watermark at "now"
 *    (everything earlier has run) moves the jobs due within 48 h into a fresh queue prefix:
 *    used_memory after minus before. Next to it, the old all-in-Redis figure: N × the bytes per
 *    pending job measured in the same run (2b).
 * 3. The loader's rate at the peak run (table pages through the due index, the EXISTS check,
 *    addBulk, the check against the table after the add) next to the calibration: raw addBulk
 *    (LifecycleQueues.schedule) of the same jobs into a fresh prefix, timed in the same run.
 *    Target: the loader at ≥ 50 % of the raw add rate.
 * Conditions: private redis-server with AOF everysec and the service's listpack setting, no
 * workers (nothing runs), the injected clock fixed at each instant.
 */
async function horizonBench(): Promise<void> {
  const HORIZON_MS = 48 * 3_600_000;
  const BURST = 0.3;
  const dir = mkdtempSync(join(tmpdir(), 'bench-schedule-horizon-'));
  const redis = await startPrivateRedis({
    dataDir: join(dir, 'redis'),
    persistence: 'aof',
    extraArgs: ['--hash-max-listpack-value', String(LISTPACK_VALUE)],
  });
  const probe = createRedisConnection(redis.url, { forWorker: false });
  const usedMemory = async (): Promise<number> =>
    Number(/^used_memory:(\d+)/m.exec(await probe.info('memory'))![1]);
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  console.log(
    `bench:schedule (BENCH_MODE=horizon) — N = ${N.toLocaleString('en')} subscriptions, term ends spread over 2027, horizon 48 h`,
  );
  console.log(`machine: ${machine()}`);
  console.log(`date: ${new Date().toISOString()}`);
  console.log(
    `redis: ${/^redis_version:(\S+)/m.exec(await probe.info('server'))![1]}, AOF everysec, noeviction, hash-max-listpack-value ${LISTPACK_VALUE}; schedule table: SQLite`,
  );
  const table = await ScheduleTable.open({ dataDir: dir });
  const queuesAt = (prefix: string, nowIso: string) =>
    new LifecycleQueues({
      connection: probe,
      prefix,
      clock: new FixedClock(nowIso),
      trackDueTimes: false,
    });
  try {
    // 1. Seed the table.
    const dueOf = (i: number): number => {
      const month = i % 12;
      const start = Date.UTC(2027, month, 1);
      const end = Date.UTC(2027, month + 1, 1);
      const k = Math.floor(i / 12);
      if ((k * 7) % 10 < BURST * 10) return end;
      return start + Math.floor(((((k * 7919) % 100_003) / 100_003) * (end - start)) / 1000) * 1000;
    };
    const seeded = Date.now();
    const SEED_BATCH = 10_000;
    for (let from = 0; from < N; from += SEED_BATCH) {
      const rows: ScheduleRow[] = [];
      for (let i = from; i < Math.min(N, from + SEED_BATCH); i++) {
        const subscriptionId = `sub_h${i}`;
        const dueMs = dueOf(i);
        rows.push({
          subscriptionId,
          accountId: `acc_${i % 5000}`,
          revision: 0,
          status: 'active',
          jobs: [
            {
              kind: 'term-end',
              jobId: termEndJobId(subscriptionId, dueMs),
              dueMs,
              data: {
                subscriptionId,
                accountId: `acc_${i % 5000}`,
                dueAt: new Date(dueMs).toISOString(),
              },
            },
          ],
        });
      }
      await table.putAll(rows);
    }
    console.log(
      `seeded the schedule table with ${N.toLocaleString('en')} rows in ${secs(Date.now() - seeded)} (directly, not through the log)`,
    );

    // 2. A loader run from a watermark at `nowIso`, into a fresh prefix.
    const loaderRun = async (prefix: string, nowIso: string) => {
      const queues = queuesAt(prefix, nowIso);
      const loader = new ScheduleLoader({
        table,
        queues,
        clock: new FixedClock(nowIso),
        horizonMs: HORIZON_MS,
        logger: pino({ level: 'silent' }),
      });
      await probe.set(loader.watermarkKey, String(Date.parse(nowIso)));
      const m0 = await usedMemory();
      const t0 = Date.now();
      const report = await loader.load();
      const ms = Date.now() - t0;
      const bytes = (await usedMemory()) - m0;
      await queues.close();
      return { report, ms, bytes };
    };
    const quiet = await loaderRun('quiet', '2027-01-15T00:00:00.000Z');
    const PEAK = new Date(Date.UTC(2027, 1, 1) - 47 * 3_600_000).toISOString();
    const peak = await loaderRun('peak', PEAK);

    // 3. Calibration: raw addBulk of the same jobs (read from the table beforehand, untimed).
    const jobs: DesiredJob[] = [];
    for await (const page of table.jobsDue(Date.parse(PEAK), Date.parse(PEAK) + HORIZON_MS))
      jobs.push(...page);
    const raw = queuesAt('raw', PEAK);
    const m0 = await usedMemory();
    const t0 = Date.now();
    await raw.schedule(jobs);
    const rawMs = Date.now() - t0;
    const perJob = ((await usedMemory()) - m0) / jobs.length;
    await raw.close();
    if (peak.report.loaded !== jobs.length)
      throw new Error(`the loader moved ${peak.report.loaded} jobs, the table has ${jobs.length}`);

    const loaderRate = (peak.report.loaded / peak.ms) * 1000;
    const rawRate = (jobs.length / rawMs) * 1000;
    const allIn = N * perJob;
    console.log('results:');
    console.log(
      `  Redis with the horizon, quiet (Jan 15):   ${quiet.report.loaded.toLocaleString('en')} jobs due within 48 h, ${mb(quiet.bytes)}`,
    );
    console.log(
      `  Redis with the horizon, peak (${PEAK.slice(0, 16)}): ${peak.report.loaded.toLocaleString('en')} jobs (the month-end burst), ${mb(peak.bytes)}`,
    );
    console.log(
      `  all in Redis (before the horizon):        ${N.toLocaleString('en')} × ${Math.round(perJob)} bytes = ${mb(allIn)} (per-job bytes measured here, raw add)`,
    );
    console.log(
      `  peak Redis memory with the horizon:       ${((100 * peak.bytes) / allIn).toFixed(1)} % of all in Redis`,
    );
    console.log(
      `  loader at the peak:                       ${peak.report.loaded.toLocaleString('en')} jobs in ${secs(peak.ms)} = ${rate(peak.report.loaded, peak.ms)} (read ${peak.report.read.toLocaleString('en')}, withdrawn ${peak.report.withdrawn})`,
    );
    console.log(
      `  calibration, raw addBulk of the same jobs: ${secs(rawMs)} = ${rate(jobs.length, rawMs)}`,
    );
    const ratio = loaderRate / rawRate;
    console.log(
      `ratio: ${ratio.toFixed(2)} of the raw addBulk rate (target ≥ 0.50) → ${ratio >= 0.5 ? 'met' : 'NOT met'}`,
    );
  } finally {
    await table.close();
    probe.disconnect();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

(HORIZON_MODE ? horizonBench() : main()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
