/**
 * npm run bench:append [-- N [CONCURRENCY]]: cancellations per second through the CommandBus on
 * the embedded SQLite log (read stream, fold, decide, encrypt, append with expected revision),
 * next to the raw SQLite append ceiling measured in the same run on the same machine: the same
 * schema and pragmas (WAL, synchronous=FULL), one transaction per 2-event append, one at a time,
 * straight through better-sqlite3 with nothing else around it.
 *
 * PostgreSQL: EVENTSTORE_URL=postgres://… npm run bench:append (or `-- --postgres`, which uses
 * TEST_PG_URL or the local test server). The same workload on PostgresEventStore, in a fresh
 * schema dropped afterwards, plus the store's own appendToStream (2 events each) without the bus,
 * next to a raw INSERT ceiling measured in the same run: the same number of single-row INSERT
 * transactions (autocommit) into a plain table with the same columns and constraints, straight
 * through pg, as many in flight as the bench's concurrency, over a pool of the store's size.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import Database from 'better-sqlite3';
import { Client, Pool } from 'pg';
import pino from 'pino';
import { isPostgresUrl, PostgresEventStore } from '@app/event-store';
import { RAW_EVENT_STORE } from '@app/infrastructure';
import { type AppConfig, ControlledClock, loadConfig } from '@app/platform';
import { AppModule } from '../../apps/api/src/app.module';
import { CancelSubscriptionCommand } from '../../apps/api/src/cancel-subscription/cancel-subscription.command';
import { RegisterSubscriptionCommand } from '../../apps/api/src/register-subscription/register-subscription.command';
import { registration } from '../support/fixtures';

const withoutNow = <T extends { now: unknown }>({ now: _now, ...rest }: T) => rest;

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? process.env['BENCH_N'] ?? 5000);
const CONCURRENCY = Number(args[1] ?? process.env['BENCH_CONCURRENCY'] ?? 64);
/** The PostgreSQL server to bench on, or null for the SQLite mode. */
const PG_URL: string | null = process.env['EVENTSTORE_URL']?.trim()
  ? isPostgresUrl(process.env['EVENTSTORE_URL'])
    ? process.env['EVENTSTORE_URL']
    : null
  : process.argv.includes('--postgres')
    ? process.env['TEST_PG_URL'] || 'postgres://postgres@127.0.0.1:5432/test'
    : null;
/** PostgresEventStore's default pool size, also the raw ceiling's. */
const PG_POOL = 10;
const ctx = () => ({
  commandId: null,
  requestHash: null,
  correlationId: randomUUID(),
  causationId: null,
  actor: { actorId: 'u', role: 'billing_admin' },
  channel: 'self_service',
});

async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

function rawCeiling(dir: string, count: number, label: string): number {
  const db = new Database(join(dir, `raw-${label}.sqlite`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('secure_delete = ON');
  db.exec(`CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, stream_id TEXT NOT NULL,
    revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, UNIQUE (stream_id, revision))`);
  const insert = db.prepare(
    'INSERT INTO events (event_id, stream_id, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const data = JSON.stringify({
    subscriptionId: 'sub',
    accountId: 'acc',
    requestedAt: '2026-02-10T09:00:00.000Z',
    refund: 'none',
  });
  const meta = JSON.stringify({
    correlationId: 'c',
    recordedAt: '2026-02-10T09:00:00.000Z',
    schemaVersion: 1,
  });
  const append = db.transaction((stream: string) => {
    insert.run(randomUUID(), stream, 1, 'CancellationRequested', data, meta);
    insert.run(randomUUID(), stream, 2, 'AutoRenewDisabled', data, meta);
  });
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) append.immediate(`subscription-raw-${i}`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return count / seconds;
}

const DATA = {
  subscriptionId: 'sub',
  accountId: 'acc',
  requestedAt: '2026-02-10T09:00:00.000Z',
  refund: 'none',
};
const META = { correlationId: 'c', recordedAt: '2026-02-10T09:00:00.000Z', schemaVersion: 1 };

/** N single-row INSERT transactions (autocommit), CONCURRENCY in flight; INSERTs per second. */
async function rawPgCeiling(url: string, schema: string, count: number, label: string) {
  const db = new Pool({ connectionString: url, max: PG_POOL });
  const table = `"${schema}".raw_${label}`;
  await db.query(`CREATE TABLE ${table} (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id text NOT NULL UNIQUE, stream_id text NOT NULL, revision integer NOT NULL, type text NOT NULL,
    data json NOT NULL, metadata json NOT NULL, UNIQUE (stream_id, revision))`);
  const text = `INSERT INTO ${table} (event_id, stream_id, revision, type, data, metadata) VALUES ($1, $2, $3, $4, $5, $6)`;
  const data = JSON.stringify(DATA);
  const meta = JSON.stringify(META);
  const rows = Array.from({ length: count }, (_, i) => i);
  const started = process.hrtime.bigint();
  await pool(rows, CONCURRENCY, (i) =>
    db.query({
      name: `raw_insert_${label}`,
      text,
      values: [randomUUID(), `subscription-raw-${i}`, 0, 'CancellationRequested', data, meta],
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await db.end();
  return count / seconds;
}

/**
 * Registers N subscriptions, then times N cancellations through the CommandBus. `between` runs
 * after the registrations and before the timed run; the raw store is handed to `inspect` before
 * the application closes.
 */
async function busWorkload(
  config: AppConfig,
  between: () => Promise<void>,
  inspect: (raw: unknown) => void = () => undefined,
): Promise<{ viaBus: number; seconds: number }> {
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot({
      config,
      clock: new ControlledClock('2026-02-10T09:00:00.000Z'),
      logger: pino({ level: 'silent' }),
    }),
    { logger: false },
  );
  const bus = app.get(CommandBus);
  const ids = Array.from({ length: N }, (_, i) => `sub_${i}`);
  await pool(ids, CONCURRENCY, (id) =>
    bus.execute(
      new RegisterSubscriptionCommand(withoutNow(registration({ subscriptionId: id })), ctx()),
    ),
  );

  await between();
  inspect(app.get(RAW_EVENT_STORE));
  const started = process.hrtime.bigint();
  await pool(ids, CONCURRENCY, (id) =>
    bus.execute(
      new CancelSubscriptionCommand(
        id,
        { actorId: 'u', role: 'billing_admin' },
        'self_service',
        process.env['BENCH_NO_PD']
          ? null
          : { reason: 'unused' as const, comment: 'no longer needed' },
        null,
        ctx(),
      ),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  inspect(app.get(RAW_EVENT_STORE));
  await app.close();
  return { viaBus: N / seconds, seconds };
}

async function main(): Promise<void> {
  if (PG_URL) return mainPostgres(PG_URL);
  const dir = mkdtempSync(join(tmpdir(), 'bench-append-'));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dir, LOG_LEVEL: 'silent' });

  // The ceiling is measured before and after the bus run (fsync times drift on shared disks);
  // the ratio uses the better of the two, so it is never flattered.
  let ceilingBefore = 0;
  const { viaBus, seconds } = await busWorkload(config, async () => {
    ceilingBefore = rawCeiling(dir, Math.min(N, 5000), 'before');
  });

  const ceilingAfter = rawCeiling(dir, Math.min(N, 5000), 'after');
  const ceiling = Math.max(ceilingBefore, ceilingAfter);
  rmSync(dir, { recursive: true, force: true });

  console.log(`bench:append — ${new Date().toISOString()}`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.log(
    `conditions: SQLite WAL, synchronous=FULL, secure_delete=ON; ${N} cancellations (2 events each, survey comment encrypted), ${CONCURRENCY} in flight, group commit on`,
  );
  console.log(
    `raw SQLite append ceiling (2-event transactions, one at a time): ${ceilingBefore.toFixed(0)} appends/s before, ${ceilingAfter.toFixed(0)} after`,
  );
  console.log(
    `cancellations through the CommandBus: ${viaBus.toFixed(0)} /s (${N} in ${seconds.toFixed(2)} s)`,
  );
  console.log(`ratio: ${((100 * viaBus) / ceiling).toFixed(0)} % of the ceiling (target ≥ 70 %)`);
}

async function mainPostgres(baseUrl: string): Promise<void> {
  const url = new URL(baseUrl);
  url.searchParams.delete('schema');
  const serverUrl = url.toString();
  const schema = `bench_append_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  url.searchParams.set('schema', schema);
  const storeUrl = url.toString();
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  const dir = mkdtempSync(join(tmpdir(), 'bench-append-'));
  try {
    await admin.query(`CREATE SCHEMA "${schema}"`);
    const settings = await admin.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings
       WHERE name IN ('server_version', 'synchronous_commit', 'fsync', 'wal_sync_method', 'commit_delay')
       ORDER BY name`,
    );
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      EVENTSTORE_URL: storeUrl,
    });

    // Before and after, the better of the two for the ratio (as in the SQLite mode).
    let ceilingBefore = 0;
    const batching = { transactions: 0, appends: 0 };
    let before: { transactions: number; appends: number } | null = null;
    const { viaBus, seconds } = await busWorkload(
      config,
      async () => {
        ceilingBefore = await rawPgCeiling(serverUrl, schema, N, 'before');
      },
      (raw) => {
        if (!(raw instanceof PostgresEventStore))
          throw new Error('the app did not open PostgreSQL');
        if (before === null) before = { ...raw.stats };
        else {
          batching.transactions = raw.stats.transactions - before.transactions;
          batching.appends = raw.stats.appends - before.appends;
        }
      },
    );

    // The store alone: N appendToStream calls of 2 events, CONCURRENCY in flight.
    const store = await PostgresEventStore.open(storeUrl, { poolSize: PG_POOL });
    const events = [
      { type: 'CancellationRequested', data: DATA, metadata: metadataFor() },
      { type: 'AutoRenewDisabled', data: DATA, metadata: metadataFor() },
    ];
    const streams = Array.from({ length: N }, (_, i) => `direct-${i}`);
    const directStats = { ...store.stats };
    const started = process.hrtime.bigint();
    await pool(streams, CONCURRENCY, (s) =>
      store.appendToStream(s, events, { expectedRevision: 'no_stream' }),
    );
    const directSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const direct = N / directSeconds;
    const directTx = store.stats.transactions - directStats.transactions;
    await store.close();

    const ceilingAfter = await rawPgCeiling(serverUrl, schema, N, 'after');
    const ceiling = Math.max(ceilingBefore, ceilingAfter);

    const s = Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]));
    console.log(`bench:append (PostgreSQL) — ${new Date().toISOString()}`);
    console.log(
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
    );
    console.log(
      `conditions: PostgreSQL ${s['server_version']} at ${url.host}${url.pathname} (schema ${schema}, dropped after), ` +
        `synchronous_commit=${s['synchronous_commit']}, fsync=${s['fsync']} (${s['wal_sync_method']}), commit_delay=${s['commit_delay']}; ` +
        `${N} cancellations (2 events each, survey comment encrypted), ${CONCURRENCY} in flight, group commit on, pool ${PG_POOL}`,
    );
    console.log(
      `raw INSERT ceiling (${N} single-row INSERT transactions, ${CONCURRENCY} in flight, pool ${PG_POOL}): ` +
        `${ceilingBefore.toFixed(0)} /s before, ${ceilingAfter.toFixed(0)} after`,
    );
    console.log(
      `cancellations through the CommandBus: ${viaBus.toFixed(0)} /s (${N} in ${seconds.toFixed(2)} s; ` +
        `${batching.transactions} transactions, ${(batching.appends / Math.max(1, batching.transactions)).toFixed(1)} appends each)`,
    );
    console.log(
      `PostgresEventStore.appendToStream alone (2 events each): ${direct.toFixed(0)} /s (${N} in ${directSeconds.toFixed(2)} s; ` +
        `${directTx} transactions, ${(N / Math.max(1, directTx)).toFixed(1)} appends each)`,
    );
    console.log(
      `ratio: store appends through the CommandBus ${((100 * viaBus) / ceiling).toFixed(0)} % of the raw INSERT rate; ` +
        `appendToStream alone ${((100 * direct) / ceiling).toFixed(0)} %`,
    );
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

function metadataFor() {
  return {
    correlationId: randomUUID(),
    causationId: null,
    commandId: null,
    actor: { actorId: 'u', role: 'billing_admin' },
    channel: 'self_service',
    recordedAt: '2026-02-10T09:00:00.000Z',
    schemaVersion: 1,
  };
}

void main();
