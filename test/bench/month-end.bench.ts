/**
 * npm run bench:month-end [-- N]   (or BENCH_N=…; default 100,000)
 *
 * N subscriptions with the same term end (a month end). Measured from the due instant until
 *   1. every one of them is expired (N SubscriptionExpired in the log; goto-room ones also revoke
 *      the room account, R18),
 *   2. the read models are updated (the projector's checkpoint has reached the log head),
 *   3. their purge jobs are scheduled (N delayed purge jobs in Redis),
 * printed next to the raw BullMQ no-op processing rate measured in the same run on the same Redis.
 *
 * Two shapes (BENCH_PROCESSES):
 * - `2` (default, the deployed shape: deploy/k8s): an api process (`--api-only`, HTTP app,
 *   READ_MODEL_PROJECTOR=off; this bench process) and BENCH_WORKERS worker processes (default 2,
 *   as deploy/k8s runs them; apps/worker/src/main.ts): the first one runs the scheduler, the
 *   reconciler and the read-model projector, every one runs term-end and purge jobs;
 * - `1` (`npm start`): one process running everything.
 * Both on the SQLite event log (WAL, synchronous=FULL) and a private redis-server with AOF
 * (everysec). The lifecycle's clock is the real clock shifted by a fixed offset, so BullMQ's real
 * delays fire the jobs (no controlled-clock promotion) while the term end can be a fixed instant.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Queue, Worker } from 'bullmq';
import { DateTime } from 'luxon';
import { Test } from '@nestjs/testing';
import pino from 'pino';
import { subscriptionDecider, type SubscriptionEvent } from '@app/domain';
import { SqliteEventStore } from '@app/event-store';
import { type Clock, createRedisConnection, loadConfig, startPrivateRedis } from '@app/platform';
import { ReadModelProjector } from '@app/read-models';
import { LIFECYCLE_QUEUES, lifecycleOptionsFromEnv, LISTPACK_VALUE } from '@app/scheduling';
import { AppModule } from '../../apps/api/src/app.module';
import { fastifyAdapter } from '../../apps/api/src/http/http-app.factory';
import { cpuSeconds, machine, machineBusySeconds } from './support/bench-server';

const N = Number(process.argv[2] ?? process.env['BENCH_N'] ?? 100_000);
const PROCESSES = process.env['BENCH_PROCESSES'] === '1' ? 1 : 2;
/** Worker processes in shape 2 (the first schedules, the others only run jobs). */
// Two, as deploy/k8s runs the worker (replicas: 2); the second one only runs jobs.
const WORKERS = Math.max(1, Number(process.env['BENCH_WORKERS'] ?? 2));
const ROOT = join(__dirname, '..', '..');
const NOOP_JOBS = Number(process.env['BENCH_NOOP_JOBS'] ?? Math.min(N, 50_000));
/** The month end: midnight of Jan 1 in Rome. */
const TERM_END = '2026-12-31T23:00:00.000Z';
const TERM_START = '2026-12-01T00:00:00+01:00';

/** The real clock moved by a fixed offset: real delays, chosen instants. */
class ShiftedClock implements Clock {
  constructor(private readonly offsetMs: number) {}
  now(): DateTime {
    return DateTime.fromMillis(Date.now() + this.offsetMs, { zone: 'utc' });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en')}/s`;

async function noopRate(redisUrl: string): Promise<{ jobs: number; ms: number }> {
  const connection = createRedisConnection(redisUrl, { forWorker: true });
  const queue = new Queue('bench-noop', { connection, prefix: 'bench' });
  for (let i = 0; i < NOOP_JOBS; i += 1000)
    await queue.addBulk(
      Array.from({ length: Math.min(1000, NOOP_JOBS - i) }, (_, k) => ({
        name: 'noop',
        data: { subscriptionId: `sub_${i + k}`, accountId: 'acc', dueAt: TERM_END },
        opts: { jobId: `noop-${i + k}`, removeOnComplete: true },
      })),
    );
  let done = 0;
  const started = Date.now();
  const worker = new Worker('bench-noop', async () => undefined, {
    connection,
    prefix: 'bench',
    concurrency: 100,
  });
  worker.on('completed', () => void done++);
  while (done < NOOP_JOBS) await sleep(20);
  const ms = Date.now() - started;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return { jobs: NOOP_JOBS, ms };
}

/** Appends N registrations straight into the log (the command path's events, decided once). */
async function seed(dataDir: string): Promise<void> {
  const store = SqliteEventStore.open(join(dataDir, 'events.sqlite'));
  const now = '2026-12-15T12:00:00.000Z';
  const template = (id: string, room: boolean): SubscriptionEvent[] =>
    subscriptionDecider.decide(
      {
        type: 'RegisterSubscription',
        data: {
          subscriptionId: id,
          accountId: 'acc',
          productId: room ? 'goto-room' : 'goto-meeting',
          plan: { kind: 'monthly' },
          termStart: TERM_START,
          timeZone: 'Europe/Rome',
          contract: false,
          autoRenew: false,
          now,
        },
      },
      subscriptionDecider.initialState(),
    );
  const [meeting] = template('x', false);
  const [room] = template('x', true);
  let next = 0;
  const lanes = Array.from({ length: 256 }, async () => {
    while (next < N) {
      const i = next++;
      const id = `sub_me_${i}`;
      const base = i % 10 === 7 ? room! : meeting!;
      await store.appendToStream(
        `subscription-${id}`,
        [
          {
            type: base.type,
            data: { ...base.data, subscriptionId: id, accountId: `acc_${i % 5000}` },
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
  });
  await Promise.all(lanes);
  await store.close();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-month-end-'));
  // Started as the service starts its private redis-server (REDIS_URL unset).
  const redis = await startPrivateRedis({
    dataDir: join(dir, 'redis'),
    persistence: 'aof',
    extraArgs: ['--hash-max-listpack-value', String(LISTPACK_VALUE)],
  });
  console.log(
    `bench:month-end — N = ${N.toLocaleString('en')} subscriptions ending at ${TERM_END}`,
  );
  console.log(`machine: ${machine()}`);
  console.log(`date: ${new Date().toISOString()}`);
  console.log(
    PROCESSES === 2
      ? `shape: api process (HTTP app; READ_MODEL_PROJECTOR=off) + ${WORKERS} worker process(es) (scheduler, reconciler and read-model projector in the first; term-end and purge workers in each)`
      : 'shape: 1 process (npm start: api, projector, scheduler, reconciler, workers)',
  );
  // Ctrl+C: stop the private redis-server and remove the data, as a normal end does.
  const abort = () => {
    void redis.stop().finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    const noop = await noopRate(redis.url);
    console.log(
      `raw BullMQ no-op processing (same Redis, 1 worker, concurrency 100): ${noop.jobs.toLocaleString('en')} jobs in ${secs(noop.ms)} = ${rate(noop.jobs, noop.ms)}`,
    );

    const seeded = Date.now();
    await seed(dir);
    console.log(`seeded ${N.toLocaleString('en')} registrations in ${secs(Date.now() - seeded)}`);

    // The app starts LEAD before the term end (shifted time): its scheduler must put the N
    // term-end jobs into Redis before they are due.
    const leadMs = Number(process.env['BENCH_LEAD_MS'] ?? Math.max(30_000, N * 0.6));
    const offset = Date.parse(TERM_END) - leadMs - Date.now();
    const clock = new ShiftedClock(offset);
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: dir,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
      AUTH_TOKENS: JSON.stringify({ bench: { service: 'bench', scopes: ['ops'] } }),
    });
    const started = Date.now();
    // Worker processes (shape 2): the real worker entry point with its clock shifted. The first
    // one follows the log (scheduler, reconciler); BENCH_WORKERS > 1 adds job-only replicas.
    const spawnWorker = (index: number) =>
      spawn(
        process.execPath,
        [
          // e.g. BENCH_WORKER_NODE_ARGS=--cpu-prof to profile the worker under load
          ...(process.env['BENCH_WORKER_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
          '-r',
          join(ROOT, 'test/support/swc-register.js'),
          '-r',
          join(__dirname, 'month-end.clock-offset.js'),
          join(ROOT, 'apps/worker/src/main.ts'),
        ],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            NODE_ENV: 'test',
            DATA_DIR: dir,
            REDIS_URL: redis.url,
            LOG_LEVEL: 'warn',
            BENCH_CLOCK_OFFSET_MS: String(offset),
            // Several workers on one machine: each its own free health port (9464 by default).
            WORKER_HEALTH_PORT: '0',
            // As deploy/ runs them: the (first) worker projects the read models, the api does not.
            ...(index > 0 ? { LIFECYCLE_SCHEDULER: 'off' } : { READ_MODEL_PROJECTOR: 'on' }),
          },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
    const workers =
      PROCESSES === 2 ? Array.from({ length: WORKERS }, (_, i) => spawnWorker(i)) : [];
    if (PROCESSES === 2) process.env['READ_MODEL_PROJECTOR'] = 'off';
    const moduleRef = await Test.createTestingModule({
      imports: [
        AppModule.forRoot({
          config,
          clock,
          logger: pino({ level: 'warn' }),
          // LIFECYCLE_CONCURRENCY etc. apply, as they do to the service.
          lifecycle: {
            ...lifecycleOptionsFromEnv(process.env),
            role: PROCESSES === 2 ? 'api' : 'all',
          },
        }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication(fastifyAdapter(), { logger: ['error', 'warn'] });
    await app.init();
    const projector = app.get(ReadModelProjector);
    const connection = createRedisConnection(redis.url, { forWorker: false });
    const terms = new Queue(LIFECYCLE_QUEUES['term-end'], { connection });
    const purges = new Queue(LIFECYCLE_QUEUES.purge, { connection });
    const dueAtReal = Date.parse(TERM_END) - offset;
    while ((await terms.getDelayedCount()) < N && Date.now() < dueAtReal) {
      if (workers.some((w) => w.exitCode !== null)) throw new Error('a worker process exited');
      await sleep(50);
    }
    const scheduledMs = Date.now() - started;
    console.log(
      `scheduler: ${N.toLocaleString('en')} term-end jobs in Redis ${secs(scheduledMs)} after start ` +
        `(${rate(N, scheduledMs)}, log replayed from the start), ${secs(dueAtReal - Date.now())} before the due instant`,
    );
    if (Date.now() > dueAtReal)
      console.log('WARNING: scheduling overran the due instant; raise BENCH_LEAD_MS');

    const db = new Database(join(dir, 'events.sqlite'), { readonly: true });
    // Counted incrementally (new rows only), so that measuring costs the service next to nothing.
    const newExpiries = db
      .prepare(
        "SELECT MAX(position) AS last, COUNT(*) FILTER (WHERE type = 'SubscriptionExpired') AS expired, " +
          "COUNT(*) FILTER (WHERE type = 'SubscriptionExpired' AND json_extract(data, '$.expiredAt') < ?) AS early " +
          'FROM events WHERE position > ?',
      )
      .safeIntegers();
    let seen = 0n;
    let expiredSoFar = 0;
    let early = 0;
    const countExpired = (): number => {
      const row = newExpiries.get(TERM_END, seen) as {
        last: bigint | null;
        expired: bigint;
        early: bigint;
      };
      if (row.last !== null) seen = row.last;
      expiredSoFar += Number(row.expired);
      early += Number(row.early);
      return expiredSoFar;
    };
    await sleep(Math.max(0, dueAtReal - Date.now()));
    const t0 = Date.now();
    // CPU used from the due instant on: this process (api: projector; in shape 1 everything) and
    // the worker processes, and the whole machine (/proc/stat), to tell cost from contention.
    const cpuAt = () => ({
      self: process.cpuUsage(),
      workers: workers.map((w) => cpuSeconds(w.pid!) ?? 0).reduce((a, b) => a + b, 0),
      redis: cpuSeconds(redis.pid) ?? 0,
      machine: machineBusySeconds(),
    });
    const cpu0 = cpuAt();
    let expiredAt: number | null = null;
    let projectedAt: number | null = null;
    let purgesAt: number | null = null;
    let lastReport = t0;
    while (expiredAt === null || projectedAt === null || purgesAt === null) {
      const now = Date.now();
      const expired = countExpired();
      if (expiredAt === null && expired >= N) expiredAt = now;
      if (expiredAt !== null && projectedAt === null && (await projector.lag()) === 0n)
        projectedAt = Date.now();
      const purgeJobs = await purges.getDelayedCount();
      if (purgesAt === null && purgeJobs >= N) purgesAt = Date.now();
      if (now - lastReport >= 5000) {
        lastReport = now;
        console.log(
          `  +${secs(now - t0)}: expired ${expired.toLocaleString('en')}, purge jobs ${purgeJobs.toLocaleString('en')}`,
        );
      }
      if (now - t0 > 900_000) throw new Error('gave up after 15 minutes');
      await sleep(100);
    }
    const all = Math.max(expiredAt, projectedAt, purgesAt) - t0;
    const cpu1 = cpuAt();
    const selfS = (cpu1.self.user + cpu1.self.system - cpu0.self.user - cpu0.self.system) / 1e6;
    const workersS = cpu1.workers - cpu0.workers;
    const perExpiry = (sec: number) => `${Math.round((sec / N) * 1e6)} µs`;
    console.log('results (from the due instant):');
    console.log(
      `  all ${N.toLocaleString('en')} expired:          ${secs(expiredAt - t0)}  (${rate(N, expiredAt - t0)})`,
    );
    console.log(`  read models updated:        ${secs(projectedAt - t0)}`);
    console.log(`  purge jobs scheduled:       ${secs(purgesAt - t0)}`);
    console.log(`  everything done:            ${secs(all)}  (target: 100,000 in 30 s on 2 cores)`);
    console.log(`  expired before the due instant: ${early}`);
    console.log(
      `  CPU per expiry: ${PROCESSES === 2 ? `api process (and this bench's polling) ${perExpiry(selfS)}, worker process(es) ${perExpiry(workersS)}` : `service ${perExpiry(selfS)}`}; redis-server ${perExpiry(cpu1.redis - cpu0.redis)}; whole machine busy ${((cpu1.machine - cpu0.machine) / (all / 1000)).toFixed(2)} of ${cpus().length} cores (other work included)`,
    );
    db.close();
    await terms.close();
    await purges.close();
    connection.disconnect();
    await Promise.all(
      workers.map((w) => {
        const exited = new Promise((r) => w.once('exit', r));
        w.kill('SIGTERM');
        return exited;
      }),
    );
    await app.close();
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
