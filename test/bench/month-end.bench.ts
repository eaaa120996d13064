/**
 * npm run bench:month-end [-- N]   (or BENCH_N=…; default 100,000)
 *
 * N subscriptions with the same term end (a month end). Measured from the due instant until
 *   1. every one of them is expired (N SubscriptionExpired in the log; goto-room ones also revoke
 *      the room account, R18),
 *   2. the read models are updated (the projector's checkpoint has reached the log head),
 *   3. their purge jobs are scheduled: with the product's default horizon (48 h) the purge, 90
 *      days out, is a row of the schedule table (N rows with a purge job, and the scheduler's
 *      checkpoint at the log head); with LIFECYCLE_HORIZON_HOURS past the purge (`2400`: the
 *      measure before the horizon existed, every follow-up job into Redis at once), N delayed
 *      purge jobs in Redis,
 * printed next to the raw BullMQ no-op processing rate measured in the same run on the same Redis.
 *
 * Two shapes (BENCH_PROCESSES):
 * - `2` (default, the deployed shape: deploy/k8s): an api process (`--api-only`, HTTP app,
 *   READ_MODEL_PROJECTOR=off; this bench process) and BENCH_WORKERS worker processes (default 2,
 *   as deploy/k8s runs them; apps/worker/src/main.ts): the first one runs the scheduler, the
 *   reconciler and the read-model projector, every one runs term-end and purge jobs;
 * - `1` (`npm start`): one process running everything.
 * Two stores (BENCH_LOG):
 * - `sqlite` (default): the SQLite event log (WAL, synchronous=FULL) and read models in one
 *   DATA_DIR shared by every process (NODE_ENV=test);
 * - `postgres` (also when EVENTSTORE_URL is a postgres:// URL): the production shape of deploy/.
 *   The PostgreSQL event log (EVENTSTORE_URL) and the PostgreSQL read store (READ_DB_URL: read
 *   models, personal-data keys, the scheduler's schedule and checkpoint, the role leases) on two
 *   fresh schemas of the server of EVENTSTORE_URL / READ_DB_URL when they are postgres URLs, else
 *   TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/test. The service's code creates the
 *   schemas (the seeding store, then the processes); the bench drops them at the end, on failure
 *   and on Ctrl+C too. NODE_ENV=production, shared AUTH_TOKENS, REQUEST_HASH_KEY,
 *   KEY_ENCRYPTION_KEY and RECEIPT_SIGNING_KEY, each process its own DATA_DIR (nothing of state on a process's disk: the
 *   files left in them are listed at the end). The workers are started identically
 *   (READ_MODEL_PROJECTOR=on): the scheduler and reconciler, and the projector, run in whichever
 *   holds their lease; each worker's part (its /metrics, its CPU) is printed at the end. The
 *   registrations are seeded through the store the app's commands write through.
 * Both with a private redis-server with AOF (everysec). The shape's machinery (schemas, seeding,
 * worker processes, redis, clock offset, teardown) is support/production-shape.ts, shared with
 * bench:purge's burst. The lifecycle's clock is the real clock
 * shifted by a fixed offset, so BullMQ's real delays fire the jobs (no controlled-clock
 * promotion) while the term end can be a fixed instant.
 */
import 'reflect-metadata';
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import pino from 'pino';
import { subscriptionDecider, type SubscriptionEvent } from '@app/domain';
import { type EventStore, isPostgresUrl, SqliteEventStore } from '@app/event-store';
import { createRedisConnection, loadConfig } from '@app/platform';
import { ReadModelProjector } from '@app/read-models';
import { horizonOf, LIFECYCLE_QUEUES, lifecycleOptionsFromEnv } from '@app/scheduling';
import { AppModule } from '../../apps/api/src/app.module';
import { fastifyAdapter } from '../../apps/api/src/http/http-app.factory';
import { cpuSeconds, machine, machineBusySeconds } from './support/bench-server';
import {
  clockOffset,
  connect,
  dropSchemas,
  filesUnder,
  freePorts,
  hasExited,
  metricSamples,
  noopRate,
  postgresCpu,
  postgresCpuBetween,
  postgresEventCounter,
  postgresShape,
  rate,
  removeDir,
  rolesOf,
  secs,
  seedStore,
  seedThroughStore,
  ShiftedClock,
  sleep,
  spawnShapeWorker,
  startBenchRedis,
  stopWorkers,
  sumByLabel,
  teardown,
} from './support/production-shape';
import { registration } from '../support/fixtures';

const N = Number(process.argv[2] ?? process.env['BENCH_N'] ?? 100_000);
/** Hours of the lifecycle's horizon, as the service reads it (LIFECYCLE_HORIZON_HOURS, default 48). */
const HORIZON_HOURS = horizonOf(lifecycleOptionsFromEnv(process.env)).horizonMs / 3_600_000;
/** The purge, 90 days after the term end, reaches Redis at once only with a horizon past it. */
const PURGES_IN_REDIS = HORIZON_HOURS > 90 * 24;
const PROCESSES = process.env['BENCH_PROCESSES'] === '1' ? 1 : 2;
/** Worker processes in shape 2 (the first schedules, the others only run jobs). */
// Two, as deploy/k8s runs the worker (replicas: 2); the second one only runs jobs.
const WORKERS = Math.max(1, Number(process.env['BENCH_WORKERS'] ?? 2));
const NOOP_JOBS = Number(process.env['BENCH_NOOP_JOBS'] ?? Math.min(N, 50_000));
/** The month end: midnight of Jan 1 in Rome. */
const TERM_END = '2026-12-31T23:00:00.000Z';
const TERM_START = '2026-12-01T00:00:00+01:00';
/** BENCH_LOG=postgres, or EVENTSTORE_URL a postgres URL (and BENCH_LOG unset): the production shape. */
const BENCH_LOG =
  process.env['BENCH_LOG']?.trim() ||
  (isPostgresUrl(process.env['EVENTSTORE_URL'] ?? '') ? 'postgres' : 'sqlite');
if (BENCH_LOG !== 'sqlite' && BENCH_LOG !== 'postgres')
  throw new Error(`BENCH_LOG must be sqlite or postgres, not ${BENCH_LOG}`);
const POSTGRES = BENCH_LOG === 'postgres';

/** What a worker's /metrics says about its part (WORKER_HEALTH_PORT). */
async function workerShare(port: number): Promise<string> {
  const samples = await metricSamples(port);
  if (typeof samples === 'string') return samples;
  const termEnd = sumByLabel(samples, 'lifecycle_jobs_total', 'outcome', (l) =>
    l.includes('kind="term-end"'),
  );
  const jobs = [...termEnd].map(([o, n]) => `${o} ${n.toLocaleString('en')}`).join(', ');
  return `term-end jobs ${jobs || 'none'}; ${rolesOf(samples)}`;
}

/**
 * N registrations (the command path's events, decided once), appended through `store`: on
 * SQLite the raw log file; on PostgreSQL the store the app's commands write through.
 */
const SEEDED_AT = '2026-12-15T12:00:00.000Z';
const template = (room: boolean): SubscriptionEvent =>
  subscriptionDecider.decide(
    {
      type: 'RegisterSubscription',
      data: registration({
        subscriptionId: 'x',
        accountId: 'acc',
        productId: room ? 'goto-room' : 'goto-meeting',
        termStart: TERM_START,
        autoRenew: false,
        now: SEEDED_AT,
      }),
    },
    subscriptionDecider.initialState(),
  )[0]!;
const [meeting, room] = [template(false), template(true)];
const registrationOf = (i: number) => {
  const id = `sub_me_${i}`;
  const base = i % 10 === 7 ? room : meeting;
  return {
    streamId: `subscription-${id}`,
    events: [
      {
        type: base.type,
        data: { ...base.data, subscriptionId: id, accountId: `acc_${i % 5000}` },
        metadata: {
          correlationId: `seed-${i}`,
          causationId: null,
          commandId: null,
          actor: null,
          channel: 'support',
          recordedAt: SEEDED_AT,
          schemaVersion: 1,
        },
      },
    ],
  };
};

/** Counts the log's new SubscriptionExpired events (and the early ones) since the last call. */
interface ExpiryCounter {
  /** Totals so far. */
  count(): Promise<{ expired: number; early: number }>;
  close(): Promise<void>;
}

function sqliteExpiryCounter(file: string): ExpiryCounter {
  const db = new Database(file, { readonly: true });
  // Counted incrementally (new rows only), so that measuring costs the service next to nothing.
  const newExpiries = db
    .prepare(
      "SELECT MAX(position) AS last, COUNT(*) FILTER (WHERE type = 'SubscriptionExpired') AS expired, " +
        "COUNT(*) FILTER (WHERE type = 'SubscriptionExpired' AND json_extract(data, '$.expiredAt') < ?) AS early " +
        'FROM events WHERE position > ?',
    )
    .safeIntegers();
  let seen = 0n;
  let expired = 0;
  let early = 0;
  return {
    count: async () => {
      const row = newExpiries.get(TERM_END, seen) as {
        last: bigint | null;
        expired: bigint;
        early: bigint;
      };
      if (row.last !== null) seen = row.last;
      expired += Number(row.expired);
      early += Number(row.early);
      return { expired, early };
    },
    close: async () => void db.close(),
  };
}

/** The same on the PostgreSQL log (support/production-shape.ts). */
async function postgresExpiryCounter(
  log: Parameters<typeof postgresEventCounter>[0],
): Promise<ExpiryCounter & { walBytes(): Promise<bigint> }> {
  const counter = await postgresEventCounter(log, 'SubscriptionExpired', 'expiredAt', TERM_END);
  return {
    count: async () => {
      const { counted, early } = await counter.count();
      return { expired: counted, early };
    },
    walBytes: () => counter.walBytes(),
    close: () => counter.close(),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-month-end-'));
  const pg = POSTGRES ? postgresShape('bench_me') : null;
  // Each process its own DATA_DIR in the production shape; one shared DATA_DIR on SQLite.
  const dataDirOf = (name: string) => (pg ? join(dir, name) : dir);
  // Stops whatever is still running and removes every trace: the end of a run, a failure or
  // Ctrl+C (last registered, first run).
  const { add, cleanUp } = teardown();
  add(() => removeDir(dir));
  const redis = await startBenchRedis(dir);
  add(() => redis.stop());
  if (pg) add(() => dropSchemas(pg));
  console.log(
    `bench:month-end — N = ${N.toLocaleString('en')} subscriptions ending at ${TERM_END}`,
  );
  console.log(`machine: ${machine()}`);
  console.log(`date: ${new Date().toISOString()}`);
  console.log(
    PROCESSES === 2
      ? pg
        ? `shape: api process (HTTP app; READ_MODEL_PROJECTOR=off) + ${WORKERS} worker process(es) started identically (scheduler, reconciler and read-model projector in whichever holds their lease; term-end and purge workers in each)`
        : `shape: api process (HTTP app; READ_MODEL_PROJECTOR=off) + ${WORKERS} worker process(es) (scheduler, reconciler and read-model projector in the first; term-end and purge workers in each)`
      : 'shape: 1 process (npm start: api, projector, scheduler, reconciler, workers)',
  );
  if (pg)
    console.log(
      `stores: PostgreSQL event log ${pg.log.key}, PostgreSQL read store (read models, keys, schedule, leases) ${pg.read.key}; NODE_ENV=production, each process its own DATA_DIR`,
    );
  const workers: ChildProcess[] = [];
  let app: INestApplication | null = null;
  add(async () => app?.close());
  add(() => stopWorkers(workers));
  try {
    const noop = await noopRate(redis.url, NOOP_JOBS);
    console.log(
      `raw BullMQ no-op processing (same Redis, 1 worker, concurrency 100): ${noop.jobs.toLocaleString('en')} jobs in ${secs(noop.ms)} = ${rate(noop.jobs, noop.ms)} (the fastest of ${noop.roundsMs.length} rounds: ${noop.roundsMs.map(secs).join(', ')})`,
    );

    const seeded = Date.now();
    if (pg) await seedThroughStore(pg, dataDirOf('seed'), N, registrationOf);
    else {
      const store: EventStore = SqliteEventStore.open(join(dir, 'events.sqlite'));
      await seedStore(store, N, registrationOf);
      await store.close();
    }
    console.log(`seeded ${N.toLocaleString('en')} registrations in ${secs(Date.now() - seeded)}`);

    // The app starts LEAD before the term end (shifted time): its scheduler must put the N
    // term-end jobs into Redis before they are due. On PostgreSQL it is slower (2 cores, N =
    // 100,000: 37-44 s after the start against 26-29 s on SQLite; 10-15 s at N = 20,000): twice
    // the lead, for slower machines and servers.
    const leadMs = Number(process.env['BENCH_LEAD_MS'] ?? Math.max(30_000, N * (pg ? 1.2 : 0.6)));
    const offset = clockOffset(TERM_END, leadMs);
    const clock = new ShiftedClock(offset);
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: dataDirOf('api'),
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
      AUTH_TOKENS: JSON.stringify({ bench: { service: 'bench', scopes: ['ops'] } }),
      ...pg?.env,
    });
    // The workers' health and metrics ports: each worker's part is read there at the end.
    const ports = pg && PROCESSES === 2 ? await freePorts(WORKERS) : [];
    const started = Date.now();
    // Worker processes (shape 2): the real worker entry point with its clock shifted. The first
    // one follows the log (scheduler, reconciler); BENCH_WORKERS > 1 adds job-only replicas.
    // In the production shape every worker is started alike and the leases pick the roles.
    const spawnWorker = (index: number) =>
      spawnShapeWorker({
        clockOffsetMs: offset,
        env: {
          DATA_DIR: dataDirOf(`worker-${index}`),
          REDIS_URL: redis.url,
          // Several workers on one machine: each its own free health port (9464 by default).
          WORKER_HEALTH_PORT: pg ? String(ports[index]) : '0',
          // As deploy/ runs them: the (first) worker projects the read models, the api does not.
          ...(pg
            ? { ...pg.env, READ_MODEL_PROJECTOR: 'on' }
            : index > 0
              ? { LIFECYCLE_SCHEDULER: 'off' }
              : { READ_MODEL_PROJECTOR: 'on' }),
        },
      });
    if (PROCESSES === 2) for (let i = 0; i < WORKERS; i++) workers.push(spawnWorker(i));
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
    app = moduleRef.createNestApplication(fastifyAdapter(), { logger: ['error', 'warn'] });
    await app.init();
    const projector = app.get(ReadModelProjector);
    const connection = createRedisConnection(redis.url, { forWorker: false });
    const terms = new Queue(LIFECYCLE_QUEUES['term-end'], { connection });
    const purges = new Queue(LIFECYCLE_QUEUES.purge, { connection });
    const dueAtReal = Date.parse(TERM_END) - offset;
    while ((await terms.getDelayedCount()) < N && Date.now() < dueAtReal) {
      if (workers.some(hasExited)) throw new Error('a worker process exited');
      await sleep(50);
    }
    const scheduledMs = Date.now() - started;
    console.log(
      `scheduler: ${N.toLocaleString('en')} term-end jobs in Redis ${secs(scheduledMs)} after start ` +
        `(${rate(N, scheduledMs)}, log replayed from the start), ${secs(dueAtReal - Date.now())} before the due instant`,
    );
    if (Date.now() > dueAtReal)
      console.log('WARNING: scheduling overran the due instant; raise BENCH_LEAD_MS');

    // Where the purge jobs are scheduled: Redis with a horizon past them, else the schedule table
    // (the scheduler's, in the read store or the scheduling worker's DATA_DIR).
    const scheduled = PURGES_IN_REDIS
      ? null
      : pg
        ? await connect(pg.read.connectionString)
        : new Database(join(dataDirOf('worker-0'), 'scheduler.sqlite'), { readonly: true });
    const countRows = `SELECT COUNT(*) AS n FROM ${pg ? `"${pg.read.schema}".` : ''}lifecycle_schedule WHERE purge_due IS NOT NULL`;
    const purgeJobCount: () => Promise<number> =
      scheduled === null
        ? () => purges.getDelayedCount()
        : scheduled instanceof Database
          ? (
              (count) => async () =>
                Number(count.get())
            )(scheduled.prepare(countRows).pluck())
          : async () => Number((await scheduled.query<{ n: string }>(countRows)).rows[0]!.n);
    console.log(
      `horizon: ${HORIZON_HOURS} h, so the purge jobs are counted ${PURGES_IN_REDIS ? 'in Redis (delayed)' : `in the schedule table (they reach Redis ${HORIZON_HOURS} h before they are due)`}`,
    );
    const pgExpiries = pg ? await postgresExpiryCounter(pg.log) : null;
    const expiries = pgExpiries ?? sqliteExpiryCounter(join(dir, 'events.sqlite'));
    await sleep(Math.max(0, dueAtReal - Date.now()));
    const t0 = Date.now();
    // CPU used from the due instant on: this process (api: projector; in shape 1 everything) and
    // the worker processes, and the whole machine (/proc/stat), to tell cost from contention.
    const workerCpu = () => workers.map((w) => cpuSeconds(w.pid!) ?? 0);
    const cpuAt = () => ({
      self: process.cpuUsage(),
      workers: workerCpu().reduce((a, b) => a + b, 0),
      redis: cpuSeconds(redis.pid) ?? 0,
      machine: machineBusySeconds(),
    });
    // Commands redis-server processed (this bench's polling of the queues included).
    const redisCommands = async () =>
      Number(/total_commands_processed:(\d+)/.exec(await connection.info('stats'))?.[1] ?? 0);
    const commands0 = await redisCommands();
    const cpu0 = cpuAt();
    const perWorker0 = workerCpu();
    const postgres0 = pg ? postgresCpu() : null;
    const wal0 = await pgExpiries?.walBytes();
    // Whether the read models had caught up with the seeded log when the jobs fell due.
    const lagAtDue = pg ? await projector.lag() : null;
    let expiredAt: number | null = null;
    let projectedAt: number | null = null;
    let purgesAt: number | null = null;
    let lastReport = t0;
    let early = 0;
    while (expiredAt === null || projectedAt === null || purgesAt === null) {
      const now = Date.now();
      const counted = await expiries.count();
      const expired = counted.expired;
      early = counted.early;
      if (expiredAt === null && expired >= N) expiredAt = now;
      if (expiredAt !== null && projectedAt === null && (await projector.lag()) === 0n)
        projectedAt = Date.now();
      // Counting the schedule table's rows costs the store a scan: every 5 s for the progress
      // line, and every poll only once every subscription has expired.
      const report = now - lastReport >= 5000;
      if (purgesAt === null && (expiredAt !== null || report)) {
        const purgeJobs = await purgeJobCount();
        if (purgeJobs >= N) purgesAt = Date.now();
        if (report) {
          lastReport = now;
          console.log(
            `  +${secs(now - t0)}: expired ${expired.toLocaleString('en')}, purge jobs ${purgeJobs.toLocaleString('en')}`,
          );
        }
      }
      if (workers.some(hasExited)) throw new Error('a worker process exited');
      if (now - t0 > 900_000) throw new Error('gave up after 15 minutes');
      await sleep(100);
    }
    const all = Math.max(expiredAt, projectedAt, purgesAt) - t0;
    const cpu1 = cpuAt();
    const perWorker1 = workerCpu();
    const postgres1 = pg ? postgresCpu() : null;
    const wal1 = await pgExpiries?.walBytes();
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
    if (pg) {
      console.log(
        `  read models at the due instant: ${lagAtDue!.toLocaleString('en')} positions behind the log head`,
      );
      const shares = await Promise.all(ports.map((p) => workerShare(p)));
      workers.forEach((_, i) =>
        console.log(
          `  worker ${i}: CPU ${perWorker0[i]!.toFixed(1)} s before the due instant, ${(perWorker1[i]! - perWorker0[i]!).toFixed(1)} s after; ${shares[i]}`,
        ),
      );
      const disks = ['api', ...workers.map((_, i) => `worker-${i}`)].map((name) => {
        const files = filesUnder(dataDirOf(name));
        return `${name} ${files.length === 0 ? 'no files' : files.join(', ')}`;
      });
      console.log(`  files in the processes' DATA_DIRs: ${disks.join('; ')}`);
      if (postgres1!.size > 0)
        console.log(
          `  PostgreSQL server CPU per expiry (its processes on this machine): ${perExpiry(postgresCpuBetween(postgres0!, postgres1!))}`,
        );
      const wal = Number(wal1! - wal0!);
      console.log(
        `  PostgreSQL WAL written from the due instant: ${(wal / 2 ** 20).toFixed(0)} MiB, ${(wal / N / 1024).toFixed(1)} KiB per expiry (the event log's server, all its databases)`,
      );
    }
    const commands = (await redisCommands()) - commands0;
    console.log(
      `  Redis commands per expiry: ${(commands / N).toFixed(1)} (${commands.toLocaleString('en')} from the due instant to the last purge job, ${rate(commands, all)} commands; this bench's polling included)`,
    );
    console.log(
      `  CPU per expiry: ${PROCESSES === 2 ? `api process (and this bench's polling) ${perExpiry(selfS)}, worker process(es) ${perExpiry(workersS)}` : `service ${perExpiry(selfS)}`}; redis-server ${perExpiry(cpu1.redis - cpu0.redis)}; whole machine busy ${((cpu1.machine - cpu0.machine) / (all / 1000)).toFixed(2)} of ${cpus().length} cores (other work included)`,
    );
    // Goal: everything done within 2.5× the time raw BullMQ takes for as many no-op jobs.
    const rawMs = (N * noop.ms) / noop.jobs;
    const ratio = all / rawMs;
    console.log(
      `ratio: everything done ${secs(all)} / raw BullMQ no-op time for ${N.toLocaleString('en')} jobs ${secs(rawMs)} = ${ratio.toFixed(1)}× (target ≤ 2.5×) → ${ratio <= 2.5 ? 'met' : 'NOT met'}`,
    );
    await expiries.close();
    if (scheduled instanceof Database) scheduled.close();
    else await scheduled?.end();
    await terms.close();
    await purges.close();
    connection.disconnect();
    await stopWorkers(workers);
    await app.close();
    app = null;
  } finally {
    await cleanUp();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
