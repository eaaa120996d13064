/**
 * npm run bench:schedule [-- N]   (or BENCH_N=…; default 100,000)
 *
 * 1. Scheduling rate from the log: N registrations in the event log, then the lifecycle scheduler
 *    starts from an empty checkpoint and puts one term-end job per subscription into Redis
 *    (read stream, fold, derive, addBulk, schedule table, checkpoint): jobs per second.
 * 2. Raw add rate of the same jobs (LifecycleQueues.schedule, addBulk in chunks of 1,000).
 * 3. Redis memory per pending lifecycle job: used_memory after minus before, divided by N (job
 *    hash + delayed sorted-set entry + BullMQ bookkeeping), next to MEMORY USAGE of one job hash.
 *    Target: at most 1 KB per job.
 * Conditions: SQLite event log (WAL, synchronous=FULL), private redis-server with AOF everysec,
 * the scheduler as the worker runs it (batches of 500 events), no workers (nothing is due).
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
  termEndJobId,
} from '@app/scheduling';
import { machine } from './support/bench-server';
import { registration } from '../support/fixtures';

const N = Number(process.argv[2] ?? process.env['BENCH_N'] ?? 100_000);
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
      { role: 'worker', reconcileOnStart: false, reconcileIntervalMs: 3_600_000 },
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

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
