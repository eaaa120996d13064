/**
 * What the benches that run the production shape share (bench:month-end's postgres mode,
 * bench:purge's burst): fresh PostgreSQL schemas for the log and the read store and the settings
 * every process gets, a private redis-server with AOF, the real worker processes with a shifted
 * clock (BullMQ's real delays fire the jobs while the due instant is a fixed one), seeding through
 * the store the app's commands write through, the raw BullMQ no-op calibration, CPU and /metrics
 * readings, and one teardown for the end of a run, a failure and Ctrl+C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { DateTime } from 'luxon';
import { Client } from 'pg';
import { type EventStore, isPostgresUrl, parsePostgresUrl } from '@app/event-store';
import { openEventStores } from '@app/infrastructure';
import {
  type Clock,
  createRedisConnection,
  loadConfig,
  type PrivateRedis,
  startPrivateRedis,
} from '@app/platform';
import { LISTPACK_VALUE } from '@app/scheduling';
import { testPgUrl } from '../../support/postgres-url';
import { stopChildProcess } from '../../support/processes';
import { cpuSeconds, freePort } from './bench-server';

const ROOT = join(__dirname, '..', '..', '..');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Ended by itself or by a signal (a SIGKILLed process has no exit code). */
export const hasExited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;
export const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const rate = (n: number, ms: number) =>
  `${Math.round((n / ms) * 1000).toLocaleString('en')}/s`;

/** The real clock moved by a fixed offset: real delays, chosen instants. */
export class ShiftedClock implements Clock {
  constructor(private readonly offsetMs: number) {}
  now(): DateTime {
    return DateTime.fromMillis(Date.now() + this.offsetMs, { zone: 'utc' });
  }
}

/** The offset that makes the shifted clock read `dueIso` `leadMs` from now. */
export const clockOffset = (dueIso: string, leadMs: number): number =>
  Date.parse(dueIso) - leadMs - Date.now();

/** The production shape's stores: two fresh schemas, and the settings every process shares. */
export interface PostgresShape {
  /** NODE_ENV=production, EVENTSTORE_URL, READ_DB_URL and the keys every process gets. */
  env: Record<string, string>;
  log: { connectionString: string; schema: string; key: string };
  read: { connectionString: string; schema: string; key: string };
}

/**
 * Two fresh schemas (`<prefix>_log_<random>`, `<prefix>_read_<random>`) on the server of
 * EVENTSTORE_URL / READ_DB_URL when they are postgres URLs, else TEST_PG_URL, else the local
 * test server; the service's code creates them. The keys are made for the run and shared by every
 * process, as deploy/k8s's Secret carries them (RECEIPT_SIGNING_KEY: production requires one).
 */
export function postgresShape(prefix: string): PostgresShape {
  const given = (url: string | undefined) => (url && isPostgresUrl(url) ? url : undefined);
  const logServer = given(process.env['EVENTSTORE_URL']) ?? testPgUrl();
  const readServer = given(process.env['READ_DB_URL']) ?? logServer;
  const suffix = randomBytes(5).toString('hex');
  const inSchema = (server: string, schema: string) => {
    const url = new URL(server);
    url.searchParams.set('schema', schema);
    return url.toString();
  };
  const eventStoreUrl = inSchema(logServer, `${prefix}_log_${suffix}`);
  const readDbUrl = inSchema(readServer, `${prefix}_read_${suffix}`);
  const { privateKey } = generateKeyPairSync('ed25519');
  return {
    env: {
      NODE_ENV: 'production',
      EVENTSTORE_URL: eventStoreUrl,
      READ_DB_URL: readDbUrl,
      AUTH_TOKENS: JSON.stringify({ bench: { service: 'bench', scopes: ['ops'] } }),
      REQUEST_HASH_KEY: randomBytes(32).toString('base64'),
      KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      RECEIPT_SIGNING_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
    log: parsePostgresUrl(eventStoreUrl),
    read: parsePostgresUrl(readDbUrl),
  };
}

/** A client on a shape's schema's server (errors of an idle client are ignored). */
export async function connect(connectionString: string): Promise<Client> {
  const client = new Client({ connectionString, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Drops the shape's schemas (what the processes created in them included). */
export async function dropSchemas(shape: PostgresShape): Promise<void> {
  for (const { connectionString, schema, key } of [shape.log, shape.read]) {
    let client: Client | null = null;
    try {
      client = await connect(connectionString);
      await client.query("SET lock_timeout = '60s'");
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } catch (error) {
      console.error(`could not drop ${key} (drop the schema by hand):`, error);
    } finally {
      await client?.end().catch(() => undefined);
    }
  }
}

/**
 * Appends what `eventsOf(i)` gives for i in 0…count-1 (each a new stream) through the store the
 * app's commands write through (openEventStores: upcasting and encrypting layers over
 * PostgresEventStore, keys in the read store), 256 appends at once gathered by its group commit,
 * so the rows are exactly what the app writes.
 */
export async function seedThroughStore(
  shape: PostgresShape,
  dataDir: string,
  count: number,
  eventsOf: (i: number) => {
    streamId: string;
    events: Parameters<EventStore['appendToStream']>[1];
  },
): Promise<void> {
  const stores = openEventStores(loadConfig({ ...shape.env, DATA_DIR: dataDir }));
  try {
    await seedStore(stores.store, count, eventsOf);
  } finally {
    await stores.store.close();
    await stores.keys.close();
  }
}

/** The same into any store (bench:month-end's SQLite log). */
export async function seedStore(
  store: EventStore,
  count: number,
  eventsOf: (i: number) => {
    streamId: string;
    events: Parameters<EventStore['appendToStream']>[1];
  },
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: 256 }, async () => {
    while (next < count) {
      const { streamId, events } = eventsOf(next++);
      await store.appendToStream(streamId, events, { expectedRevision: 'no_stream' });
    }
  });
  await Promise.all(lanes);
}

/** A private redis-server with AOF, started as the service starts its own (REDIS_URL unset). */
export function startBenchRedis(dir: string): Promise<PrivateRedis> {
  return startPrivateRedis({
    dataDir: join(dir, 'redis'),
    persistence: 'aof',
    extraArgs: ['--hash-max-listpack-value', String(LISTPACK_VALUE)],
  });
}

/**
 * The host's raw BullMQ rate on this Redis: `jobs` no-op jobs added, then processed by one worker
 * in this process at concurrency 100 (what bench:month-end calls its calibration).
 */
/**
 * Raw BullMQ: `jobs` no-op jobs added, then processed by one worker (concurrency 100) on the same
 * Redis, `rounds` times; the fastest round is the calibration (a round slowed by the host's
 * neighbours, or by a cold JIT, would flatter the ratio), and every round is reported.
 */
export async function noopRate(
  redisUrl: string,
  jobs: number,
  rounds = 3,
): Promise<{ jobs: number; ms: number; roundsMs: number[] }> {
  const roundsMs: number[] = [];
  for (let round = 0; round < rounds; round++) roundsMs.push(await noopRound(redisUrl, jobs));
  return { jobs, ms: Math.min(...roundsMs), roundsMs };
}

async function noopRound(redisUrl: string, jobs: number): Promise<number> {
  const connection = createRedisConnection(redisUrl, { forWorker: true });
  const queue = new Queue('bench-noop', { connection, prefix: 'bench' });
  for (let i = 0; i < jobs; i += 1000)
    await queue.addBulk(
      Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({
        name: 'noop',
        data: { subscriptionId: `sub_${i + k}`, accountId: 'acc', dueAt: new Date().toISOString() },
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
  while (done < jobs) await sleep(20);
  const ms = Date.now() - started;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return ms;
}

/** `count` distinct free ports (each worker's health and metrics port). */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

export interface ShapeWorkerOptions {
  /** The process's environment on top of this one's (DATA_DIR, REDIS_URL, the shape's …). */
  env: Record<string, string>;
  /** BENCH_CLOCK_OFFSET_MS: the worker's clock is the real one shifted by this. */
  clockOffsetMs: number;
  /** More modules preloaded after the clock offset (absolute paths). */
  preload?: readonly string[];
}

/**
 * Starts the real worker entry point (apps/worker/src/main.ts, what `npm run start:worker` runs)
 * through the swc register hook, its clock shifted (clock-offset.js). BENCH_WORKER_NODE_ARGS
 * (e.g. --cpu-prof) is passed to node.
 */
export function spawnShapeWorker(o: ShapeWorkerOptions): ChildProcess {
  return spawn(
    process.execPath,
    [
      ...(process.env['BENCH_WORKER_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
      '-r',
      join(ROOT, 'test/support/swc-register.js'),
      '-r',
      join(__dirname, 'clock-offset.js'),
      ...(o.preload ?? []).flatMap((p) => ['-r', p]),
      join(ROOT, 'apps/worker/src/main.ts'),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        ...o.env,
        BENCH_CLOCK_OFFSET_MS: String(o.clockOffsetMs),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
}

/** The samples (not comments) of a worker's /metrics, or why there are none. */
export async function metricSamples(port: number): Promise<string[] | string> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return text.split('\n').filter((l) => l && !l.startsWith('#'));
  } catch (error) {
    return `no /metrics (${String(error)})`;
  }
}

/** Whether a sample is of metric `name` (names carry the registry's prefix, `subscriptions_`). */
export const isSample = (line: string, name: string) =>
  new RegExp(`^(?:[a-z]+_)?${name}[ {]`).test(line);
export const sampleValue = (line: string) => Number(line.slice(line.lastIndexOf(' ') + 1));

/** Sum of a metric's samples by one label's value (e.g. outcome), for samples `filter` keeps. */
export function sumByLabel(
  samples: readonly string[],
  name: string,
  label: string,
  filter: (line: string) => boolean = () => true,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of samples)
    if (isSample(l, name) && filter(l)) {
      const value = new RegExp(`${label}="([^"]*)"`).exec(l)?.[1] ?? '?';
      out.set(value, (out.get(value) ?? 0) + sampleValue(l));
    }
  return out;
}

/** The first sample of a metric (no labels looked at). */
export function firstSample(samples: readonly string[], name: string): number | undefined {
  const l = samples.find((x) => isSample(x, name));
  return l === undefined ? undefined : sampleValue(l);
}

/** Which of the roles held by a lease ran in a worker, from its /metrics. */
export function rolesOf(samples: readonly string[]): string {
  return (
    `scheduler lease ${(firstSample(samples, 'lifecycle_reconciler_runs_total') ?? 0) > 0 ? 'held (reconciled)' : 'not held'}; ` +
    `projector ${(firstSample(samples, 'read_model_seconds_since_progress') ?? -1) >= 0 ? 'ran here' : 'standby'}`
  );
}

/** Files (not folders) under a process's DATA_DIR, relative to it. */
export function filesUnder(root: string): string[] {
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
export function postgresCpu(): Map<number, number> {
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
export function postgresCpuBetween(
  before: Map<number, number>,
  after: Map<number, number>,
): number {
  let sum = 0;
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}

/**
 * Counts the log's events of one type (and those whose `field` instant is before `dueIso`) as
 * they come: positions become visible in commit order (the store's append lock), so reading only
 * the rows after the last position seen misses none, and measuring costs next to nothing.
 */
export async function postgresEventCounter(
  log: PostgresShape['log'],
  type: string,
  field: string,
  dueIso: string,
): Promise<{
  count(): Promise<{ counted: number; early: number }>;
  walBytes(): Promise<bigint>;
  close(): Promise<void>;
}> {
  const client = await connect(log.connectionString);
  const sql =
    'SELECT max(position)::text AS last, count(*) FILTER (WHERE type = $3) AS counted, ' +
    'count(*) FILTER (WHERE type = $3 AND data->>$4 < $1) AS early ' +
    `FROM "${log.schema}".events WHERE position > $2`;
  let seen = '0';
  let counted = 0;
  let early = 0;
  return {
    count: async () => {
      const r = await client.query<{ last: string | null; counted: string; early: string }>({
        name: 'bench_new_events',
        text: sql,
        values: [dueIso, seen, type, field],
      });
      const row = r.rows[0]!;
      if (row.last !== null) seen = row.last;
      counted += Number(row.counted);
      early += Number(row.early);
      return { counted, early };
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

/** The teardowns not run yet, newest last: Ctrl+C runs them all, newest first. */
const pendingTeardowns = new Set<() => Promise<void>>();
let signalsHandled = false;

/**
 * One teardown for a run (or a phase of one): `cleanUp` runs the steps registered with `add` (last
 * first) once, at the end, on a failure, or on Ctrl+C / SIGTERM (then every pending teardown runs,
 * the newest first, and the process exits 130). Each step's error is printed and the next still
 * runs.
 */
export function teardown(): { add(step: () => Promise<unknown>): void; cleanUp(): Promise<void> } {
  const steps: (() => Promise<unknown>)[] = [];
  let cleaning: Promise<void> | null = null;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      for (const step of steps.reverse())
        await step().catch((error: unknown) => console.error('cleanup:', error));
      pendingTeardowns.delete(cleanUp);
    })());
  pendingTeardowns.add(cleanUp);
  if (!signalsHandled) {
    signalsHandled = true;
    const abort = () =>
      void (async () => {
        for (const pending of [...pendingTeardowns].reverse()) await pending();
      })().finally(() => process.exit(130));
    process.once('SIGINT', abort);
    process.once('SIGTERM', abort);
  }
  return { add: (step) => void steps.push(step), cleanUp };
}

/** Stops worker processes (SIGTERM, SIGKILL after 15 s). */
export const stopWorkers = (workers: readonly ChildProcess[]) =>
  Promise.all(workers.map((w) => stopChildProcess(w, 15_000)));

/** Removes a directory and what is in it. */
export const removeDir = async (dir: string) => rmSync(dir, { recursive: true, force: true });
