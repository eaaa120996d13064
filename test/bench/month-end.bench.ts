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
 * Two stores (BENCH_LOG):
 * - `sqlite` (default): the SQLite event log (WAL, synchronous=FULL) and read models in one
 *   DATA_DIR shared by every process (NODE_ENV=test);
 * - `postgres` (also when EVENTSTORE_URL is a postgres:// URL): the production shape of deploy/.
 *   The PostgreSQL event log (EVENTSTORE_URL) and the PostgreSQL read store (READ_DB_URL: read
 *   models, personal-data keys, the scheduler's schedule and checkpoint, the role leases) on two
 *   fresh schemas of the server of EVENTSTORE_URL / READ_DB_URL when they are postgres URLs, else
 *   TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/test. The service's code creates the
 *   schemas (the seeding store, then the processes); the bench drops them at the end, on failure
 *   and on Ctrl+C too. NODE_ENV=production, shared AUTH_TOKENS, REQUEST_HASH_KEY and
 *   KEY_ENCRYPTION_KEY, each process its own DATA_DIR (nothing of state on a process's disk: the
 *   files left in them are listed at the end). The workers are started identically
 *   (READ_MODEL_PROJECTOR=on): the scheduler and reconciler, and the projector, run in whichever
 *   holds their lease; each worker's part (its /metrics, its CPU) is printed at the end. The
 *   registrations are seeded through the store the app's commands write through.
 * Both with a private redis-server with AOF (everysec). The lifecycle's clock is the real clock
 * shifted by a fixed offset, so BullMQ's real delays fire the jobs (no controlled-clock
 * promotion) while the term end can be a fixed instant.
 */
import 'reflect-metadata';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { Queue, Worker } from 'bullmq';
import { DateTime } from 'luxon';
import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Client } from 'pg';
import pino from 'pino';
import { subscriptionDecider, type SubscriptionEvent } from '@app/domain';
import {
  type EventStore,
  isPostgresUrl,
  parsePostgresUrl,
  SqliteEventStore,
} from '@app/event-store';
import { openEventStores } from '@app/infrastructure';
import { type Clock, createRedisConnection, loadConfig, startPrivateRedis } from '@app/platform';
import { ReadModelProjector } from '@app/read-models';
import { LIFECYCLE_QUEUES, lifecycleOptionsFromEnv, LISTPACK_VALUE } from '@app/scheduling';
import { AppModule } from '../../apps/api/src/app.module';
import { fastifyAdapter } from '../../apps/api/src/http/http-app.factory';
import { testPgUrl } from '../support/postgres-url';
import { stopChildProcess } from '../support/processes';
import { cpuSeconds, freePort, machine, machineBusySeconds } from './support/bench-server';
import { registration } from '../support/fixtures';

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
/** BENCH_LOG=postgres, or EVENTSTORE_URL a postgres URL (and BENCH_LOG unset): the production shape. */
const BENCH_LOG =
  process.env['BENCH_LOG']?.trim() ||
  (isPostgresUrl(process.env['EVENTSTORE_URL'] ?? '') ? 'postgres' : 'sqlite');
if (BENCH_LOG !== 'sqlite' && BENCH_LOG !== 'postgres')
  throw new Error(`BENCH_LOG must be sqlite or postgres, not ${BENCH_LOG}`);
const POSTGRES = BENCH_LOG === 'postgres';

/** The real clock moved by a fixed offset: real delays, chosen instants. */
class ShiftedClock implements Clock {
  constructor(private readonly offsetMs: number) {}
  now(): DateTime {
    return DateTime.fromMillis(Date.now() + this.offsetMs, { zone: 'utc' });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Ended by itself or by a signal (a SIGKILLed process has no exit code). */
const hasExited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en')}/s`;

/** The production shape's stores: two fresh schemas, and the settings every process shares. */
interface PostgresShape {
  /** EVENTSTORE_URL, READ_DB_URL and the keys every process gets (NODE_ENV=production). */
  env: Record<string, string>;
  log: { connectionString: string; schema: string; key: string };
  read: { connectionString: string; schema: string; key: string };
}

function postgresShape(): PostgresShape {
  const given = (url: string | undefined) => (url && isPostgresUrl(url) ? url : undefined);
  const logServer = given(process.env['EVENTSTORE_URL']) ?? testPgUrl();
  const readServer = given(process.env['READ_DB_URL']) ?? logServer;
  const suffix = randomBytes(5).toString('hex');
  const inSchema = (server: string, schema: string) => {
    const url = new URL(server);
    url.searchParams.set('schema', schema);
    return url.toString();
  };
  const eventStoreUrl = inSchema(logServer, `bench_me_log_${suffix}`);
  const readDbUrl = inSchema(readServer, `bench_me_read_${suffix}`);
  return {
    env: {
      NODE_ENV: 'production',
      EVENTSTORE_URL: eventStoreUrl,
      READ_DB_URL: readDbUrl,
      AUTH_TOKENS: JSON.stringify({ bench: { service: 'bench', scopes: ['ops'] } }),
      // Shared by every process, as deploy/k8s's Secret carries them.
      REQUEST_HASH_KEY: randomBytes(32).toString('base64'),
      KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    },
    log: parsePostgresUrl(eventStoreUrl),
    read: parsePostgresUrl(readDbUrl),
  };
}

/** Drops the bench's schemas (what the processes created in them included). */
async function dropSchemas(shape: PostgresShape): Promise<void> {
  for (const { connectionString, schema, key } of [shape.log, shape.read]) {
    const client = new Client({ connectionString, connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query("SET lock_timeout = '60s'");
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } catch (error) {
      console.error(`could not drop ${key} (drop the schema by hand):`, error);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Files (not folders) under a process's DATA_DIR, relative to it. */
function filesUnder(root: string): string[] {
  const found: string[] = [];
  const walk = (at: string): void => {
    let entries;
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries)
      if (e.isDirectory()) walk(join(at, e.name));
      else found.push(relative(root, join(at, e.name)));
  };
  walk(root);
  return found;
}

/**
 * CPU seconds of every `postgres` process of this machine (server, backends, WAL writer …) by pid;
 * empty when the server runs elsewhere (or without /proc).
 */
function postgresCpu(): Map<number, number> {
  const found = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return found;
  }
  for (const pid of pids)
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      const cpu = cpuSeconds(Number(pid));
      if (cpu !== null) found.set(Number(pid), cpu);
    } catch {
      // gone meanwhile
    }
  return found;
}

/** CPU the postgres processes used between two postgresCpu() readings (new backends included). */
function postgresCpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}

/** What a worker's /metrics says about its part (WORKER_HEALTH_PORT). */
async function workerShare(port: number): Promise<string> {
  let text: string;
  try {
    text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch (error) {
    return `no /metrics (${String(error)})`;
  }
  // Names carry the registry's prefix (`subscriptions_`).
  const samples = text.split('\n').filter((l) => l && !l.startsWith('#'));
  const named = (line: string, name: string) => new RegExp(`^(?:[a-z]+_)?${name}[ {]`).test(line);
  const value = (line: string) => Number(line.slice(line.lastIndexOf(' ') + 1));
  const termEnd = new Map<string, number>();
  for (const l of samples)
    if (named(l, 'lifecycle_jobs_total') && l.includes('kind="term-end"')) {
      const outcome = /outcome="([^"]*)"/.exec(l)?.[1] ?? '?';
      termEnd.set(outcome, (termEnd.get(outcome) ?? 0) + value(l));
    }
  const one = (name: string) => {
    const l = samples.find((x) => named(x, name));
    return l === undefined ? undefined : value(l);
  };
  const jobs = [...termEnd].map(([o, n]) => `${o} ${n.toLocaleString('en')}`).join(', ');
  return (
    `term-end jobs ${jobs || 'none'}; ` +
    `scheduler lease ${(one('lifecycle_reconciler_runs_total') ?? 0) > 0 ? 'held (reconciled)' : 'not held'}; ` +
    `projector ${(one('read_model_seconds_since_progress') ?? -1) >= 0 ? 'ran here' : 'standby'}`
  );
}

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

/**
 * Appends N registrations (the command path's events, decided once) through `store`: on SQLite
 * the raw log file; on PostgreSQL the store the app's commands write through (openEventStores:
 * upcasting and encrypting layers over PostgresEventStore), concurrent appends gathered by its
 * group commit, so the rows are exactly what the app writes.
 */
async function seed(store: EventStore): Promise<void> {
  const now = '2026-12-15T12:00:00.000Z';
  const template = (id: string, room: boolean): SubscriptionEvent[] =>
    subscriptionDecider.decide(
      {
        type: 'RegisterSubscription',
        data: registration({
          subscriptionId: id,
          accountId: 'acc',
          productId: room ? 'goto-room' : 'goto-meeting',
          termStart: TERM_START,
          autoRenew: false,
          now,
        }),
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
}

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

/**
 * The same on the PostgreSQL log: positions become visible in commit order (the store's append
 * lock), so reading only the rows after the last position seen misses none.
 */
async function postgresExpiryCounter(
  log: PostgresShape['log'],
): Promise<ExpiryCounter & { walBytes(): Promise<bigint> }> {
  const client = new Client({ connectionString: log.connectionString });
  client.on('error', () => undefined);
  await client.connect();
  const sql =
    "SELECT max(position)::text AS last, count(*) FILTER (WHERE type = 'SubscriptionExpired') AS expired, " +
    "count(*) FILTER (WHERE type = 'SubscriptionExpired' AND data->>'expiredAt' < $1) AS early " +
    `FROM "${log.schema}".events WHERE position > $2`;
  let seen = '0';
  let expired = 0;
  let early = 0;
  return {
    count: async () => {
      const r = await client.query<{ last: string | null; expired: string; early: string }>({
        name: 'bench_new_expiries',
        text: sql,
        values: [TERM_END, seen],
      });
      const row = r.rows[0]!;
      if (row.last !== null) seen = row.last;
      expired += Number(row.expired);
      early += Number(row.early);
      return { expired, early };
    },
    /** The server's WAL position in bytes (every database's writes). */
    walBytes: async () => {
      const r = await client.query<{ b: string }>(
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS b",
      );
      return BigInt(r.rows[0]!.b.split('.')[0]!);
    },
    close: () => client.end(),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-month-end-'));
  const pg = POSTGRES ? postgresShape() : null;
  // Each process its own DATA_DIR in the production shape; one shared DATA_DIR on SQLite.
  const dataDirOf = (name: string) => (pg ? join(dir, name) : dir);
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
  // Stops whatever is still running and removes every trace: the end of a run, a failure or Ctrl+C.
  let cleaning: Promise<void> | null = null;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      await Promise.all(workers.map((w) => stopChildProcess(w, 15_000)));
      await app?.close().catch(() => undefined);
      if (pg) await dropSchemas(pg);
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    })());
  // Ctrl+C: stop the private redis-server and remove the data, as a normal end does.
  const abort = () => {
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    const noop = await noopRate(redis.url);
    console.log(
      `raw BullMQ no-op processing (same Redis, 1 worker, concurrency 100): ${noop.jobs.toLocaleString('en')} jobs in ${secs(noop.ms)} = ${rate(noop.jobs, noop.ms)}`,
    );

    const seeded = Date.now();
    if (pg) {
      const stores = openEventStores(loadConfig({ ...pg.env, DATA_DIR: dataDirOf('seed') }));
      try {
        await seed(stores.store);
      } finally {
        await stores.store.close();
        await stores.keys.close();
      }
    } else {
      const store = SqliteEventStore.open(join(dir, 'events.sqlite'));
      await seed(store);
      await store.close();
    }
    console.log(`seeded ${N.toLocaleString('en')} registrations in ${secs(Date.now() - seeded)}`);

    // The app starts LEAD before the term end (shifted time): its scheduler must put the N
    // term-end jobs into Redis before they are due. On PostgreSQL it is slower (2 cores, N =
    // 100,000: 37-44 s after the start against 26-29 s on SQLite; 10-15 s at N = 20,000): twice
    // the lead, for slower machines and servers.
    const leadMs = Number(process.env['BENCH_LEAD_MS'] ?? Math.max(30_000, N * (pg ? 1.2 : 0.6)));
    const offset = Date.parse(TERM_END) - leadMs - Date.now();
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
    const ports: number[] = [];
    if (pg && PROCESSES === 2)
      while (ports.length < WORKERS) {
        const port = await freePort();
        if (!ports.includes(port)) ports.push(port);
      }
    const started = Date.now();
    // Worker processes (shape 2): the real worker entry point with its clock shifted. The first
    // one follows the log (scheduler, reconciler); BENCH_WORKERS > 1 adds job-only replicas.
    // In the production shape every worker is started alike and the leases pick the roles.
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
            DATA_DIR: dataDirOf(`worker-${index}`),
            REDIS_URL: redis.url,
            LOG_LEVEL: 'warn',
            BENCH_CLOCK_OFFSET_MS: String(offset),
            // Several workers on one machine: each its own free health port (9464 by default).
            WORKER_HEALTH_PORT: pg ? String(ports[index]) : '0',
            // As deploy/ runs them: the (first) worker projects the read models, the api does not.
            ...(pg
              ? { ...pg.env, READ_MODEL_PROJECTOR: 'on' }
              : index > 0
                ? { LIFECYCLE_SCHEDULER: 'off' }
                : { READ_MODEL_PROJECTOR: 'on' }),
          },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
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
      const purgeJobs = await purges.getDelayedCount();
      if (purgesAt === null && purgeJobs >= N) purgesAt = Date.now();
      if (now - lastReport >= 5000) {
        lastReport = now;
        console.log(
          `  +${secs(now - t0)}: expired ${expired.toLocaleString('en')}, purge jobs ${purgeJobs.toLocaleString('en')}`,
        );
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
    console.log(
      `  CPU per expiry: ${PROCESSES === 2 ? `api process (and this bench's polling) ${perExpiry(selfS)}, worker process(es) ${perExpiry(workersS)}` : `service ${perExpiry(selfS)}`}; redis-server ${perExpiry(cpu1.redis - cpu0.redis)}; whole machine busy ${((cpu1.machine - cpu0.machine) / (all / 1000)).toFixed(2)} of ${cpus().length} cores (other work included)`,
    );
    await expiries.close();
    await terms.close();
    await purges.close();
    connection.disconnect();
    await Promise.all(workers.map((w) => stopChildProcess(w, 15_000)));
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
