import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { SqliteCheckpointStore } from '@app/event-store';
import {
  type DesiredJob,
  purgeJobId,
  SCHEDULER_SUBSCRIPTION,
  type ScheduleRow,
  ScheduleTable,
  type ScheduleTableOptions,
  termEndJobId,
} from '@app/scheduling';
import { testPgUrl } from '../../support/postgres-url';
import { usePrivateRedis } from '../../support/redis-harness';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { jobIds, register, scheduled, startLifecycleApp } from './lifecycle-harness';

/**
 * The scheduler's schedule table and checkpoint on both stores: DATA_DIR/scheduler.sqlite (the
 * embedded default) and PostgreSQL (READ_DB_URL, shared by worker processes), in a fresh schema
 * per test, dropped afterwards.
 */

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

function job(kind: DesiredJob['kind'], subscriptionId: string, accountId: string, dueMs: number) {
  const jobId =
    kind === 'term-end' ? termEndJobId(subscriptionId, dueMs) : purgeJobId(subscriptionId, dueMs);
  const data = { subscriptionId, accountId, dueAt: new Date(dueMs).toISOString() };
  return { kind, jobId, dueMs, data } satisfies DesiredJob;
}

function row(
  subscriptionId: string,
  revision: number,
  o: { account?: string; status?: string; termEndMs?: number; purgeMs?: number } = {},
): ScheduleRow {
  const accountId = o.account ?? 'acc_1';
  const jobs: DesiredJob[] = [];
  if (o.termEndMs !== undefined) jobs.push(job('term-end', subscriptionId, accountId, o.termEndMs));
  if (o.purgeMs !== undefined) jobs.push(job('purge', subscriptionId, accountId, o.purgeMs));
  return { subscriptionId, accountId, revision, status: o.status ?? 'active', jobs };
}

async function onPostgres<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: testPgUrl(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

interface Store {
  readonly name: string;
  /** Options of a fresh, empty store for one test. */
  setUp(): Promise<ScheduleTableOptions>;
  tearDown(): Promise<void>;
}

function sqliteStore(): Store {
  let dir: string | null = null;
  return {
    name: 'SQLite (DATA_DIR/scheduler.sqlite)',
    setUp: async () => {
      dir = makeTmpDir('sub-eol-schedule-');
      return { dataDir: dir };
    },
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
    name: 'PostgreSQL (READ_DB_URL)',
    setUp: async () => {
      schema = `sched_test_${randomBytes(6).toString('hex')}`;
      // A DATA_DIR too: nothing may be written there when READ_DB_URL is set.
      dir = makeTmpDir('sub-eol-schedule-pg-');
      const url = new URL(testPgUrl());
      url.searchParams.set('schema', schema);
      return { dataDir: dir, readDbUrl: url.toString() };
    },
    tearDown: async () => {
      const dropped = schema;
      schema = null;
      if (dropped)
        await onPostgres((c) =>
          c.query(`DROP SCHEMA IF EXISTS ${c.escapeIdentifier(dropped)} CASCADE`),
        );
      if (dir) removeTmpDir(dir);
      dir = null;
    },
  };
}

describe.each([sqliteStore(), postgresStore()])('ScheduleTable on $name', (store) => {
  let options: ScheduleTableOptions;
  const open: ScheduleTable[] = [];
  const openTable = async (): Promise<ScheduleTable> => {
    const table = await ScheduleTable.open(options);
    open.push(table);
    return table;
  };

  beforeEach(async () => {
    options = await store.setUp();
  });

  afterEach(async () => {
    for (const table of open.splice(0)) await table.close();
    await store.tearDown();
  });

  it('upserts by revision: an older row is ignored, the same or a newer one replaces it', async () => {
    const table = await openTable();
    expect(await table.get('sub_1')).toBeNull();
    await table.putAll([row('sub_1', 3, { termEndMs: T0 + 30 * DAY })]);
    expect(await table.get('sub_1')).toEqual(row('sub_1', 3, { termEndMs: T0 + 30 * DAY }));

    await table.putAll([row('sub_1', 2, { status: 'cancelled', purgeMs: T0 })]);
    expect(await table.get('sub_1')).toEqual(row('sub_1', 3, { termEndMs: T0 + 30 * DAY }));

    await table.putAll([row('sub_1', 3, { status: 'pending', termEndMs: T0 + 31 * DAY })]);
    expect((await table.get('sub_1'))?.status).toBe('pending');

    const ended = row('sub_1', 4, { status: 'ended', purgeMs: T0 + 60 * DAY });
    await table.putAll([ended]);
    expect(await table.get('sub_1')).toEqual(ended);

    // Several rows of one subscription in a batch: the newest wins, whatever the order.
    await table.putAll([row('sub_2', 7), row('sub_2', 9, { status: 'late' }), row('sub_2', 8)]);
    expect(await table.get('sub_2')).toEqual(row('sub_2', 9, { status: 'late' }));
    expect(await table.count()).toBe(2);
    await table.putAll([]);
    expect(await table.count()).toBe(2);
  });

  it('getMany: the rows of a batch in one call, absent ids left out (also past one chunk)', async () => {
    const table = await openTable();
    const rows = Array.from({ length: 1500 }, (_, i) =>
      row(`sub_${i}`, i % 5, { termEndMs: T0 + i * 1000 }),
    );
    await table.putAll(rows);
    expect(await table.count()).toBe(1500);

    const got = await table.getMany(['sub_3', 'sub_missing', 'sub_1499', 'sub_3']);
    expect([...got.keys()].sort()).toEqual(['sub_1499', 'sub_3']);
    expect(got.get('sub_3')).toEqual(rows[3]);
    expect(got.get('sub_1499')).toEqual(rows[1499]);

    const all = await table.getMany([...rows.map((r) => r.subscriptionId), 'sub_none']);
    expect(all.size).toBe(1500);
    expect(all.get('sub_1234')).toEqual(rows[1234]);
    expect((await table.getMany([])).size).toBe(0);
  });

  it('subscriptionsOfAccount: the account index follows a row moving to another account', async () => {
    const table = await openTable();
    await table.putAll([
      row('sub_a1', 0, { account: 'acc_a' }),
      row('sub_a2', 0, { account: 'acc_a' }),
      row('sub_b1', 0, { account: 'acc_b' }),
    ]);
    expect((await table.subscriptionsOfAccount('acc_a')).sort()).toEqual(['sub_a1', 'sub_a2']);
    expect(await table.subscriptionsOfAccount('acc_b')).toEqual(['sub_b1']);
    expect(await table.subscriptionsOfAccount('acc_none')).toEqual([]);
    await table.putAll([row('sub_a2', 1, { account: 'acc_b' })]);
    expect(await table.subscriptionsOfAccount('acc_a')).toEqual(['sub_a1']);
    expect((await table.subscriptionsOfAccount('acc_b')).sort()).toEqual(['sub_a2', 'sub_b1']);
  });

  it('allDesiredJobs: every job of every row, in due order; rows without jobs give none', async () => {
    const table = await openTable();
    await table.putAll([
      row('sub_1', 0, { termEndMs: T0 + 5 * DAY, purgeMs: T0 + 40 * DAY }),
      row('sub_2', 0, { termEndMs: T0 + 1 * DAY }),
      row('sub_3', 0, { status: 'ended', purgeMs: T0 + 2 * DAY }),
      row('sub_4', 0, { status: 'purged' }),
      row('sub_5', 0, { termEndMs: Date.UTC(2100, 0, 1) }),
    ]);
    const jobs = await table.allDesiredJobs();
    expect(jobs.map((j) => [j.kind, j.data.subscriptionId, j.dueMs])).toEqual([
      ['term-end', 'sub_2', T0 + 1 * DAY],
      ['purge', 'sub_3', T0 + 2 * DAY],
      ['term-end', 'sub_1', T0 + 5 * DAY],
      ['purge', 'sub_1', T0 + 40 * DAY],
      ['term-end', 'sub_5', Date.UTC(2100, 0, 1)],
    ]);
    expect(jobs[2]).toEqual(job('term-end', 'sub_1', 'acc_1', T0 + 5 * DAY));
  });

  it('checkpoint: load, monotonic save (never backwards), reset, per name', async () => {
    const table = await openTable();
    const checkpoints = table.checkpointStore();
    expect(await checkpoints.load('lifecycle-scheduler')).toBeNull();
    await checkpoints.save('lifecycle-scheduler', 10n);
    expect(await checkpoints.load('lifecycle-scheduler')).toBe(10n);
    // 9 < 10 as numbers although '9' > '10' as text.
    await checkpoints.save('lifecycle-scheduler', 9n);
    expect(await checkpoints.load('lifecycle-scheduler')).toBe(10n);
    await checkpoints.save('lifecycle-scheduler', 10n);
    expect(await checkpoints.load('lifecycle-scheduler')).toBe(10n);
    // KurrentDB commit positions: past 2^53, kept exact.
    const big = 2n ** 62n + 7n;
    await checkpoints.save('lifecycle-scheduler', big);
    expect(await checkpoints.load('lifecycle-scheduler')).toBe(big);
    await checkpoints.save('lifecycle-scheduler', big - 1n);
    expect(await checkpoints.load('lifecycle-scheduler')).toBe(big);

    await checkpoints.save('other', 3n);
    await checkpoints.reset('lifecycle-scheduler');
    expect(await checkpoints.load('lifecycle-scheduler')).toBeNull();
    expect(await checkpoints.load('other')).toBe(3n);
    // After a reset (a rebuild) the position starts again from anywhere.
    await checkpoints.save('lifecycle-scheduler', 2n);
    expect(await checkpoints.load('lifecycle-scheduler')).toBe(2n);
    await checkpoints.close();
  });

  it('kept across a close and a new open (a restart)', async () => {
    const first = await openTable();
    await first.putAll([row('sub_1', 1, { termEndMs: T0 })]);
    await first.checkpointStore().save('lifecycle-scheduler', 42n);
    await first.close();
    await first.close(); // twice is harmless

    const second = await openTable();
    expect(await second.get('sub_1')).toEqual(row('sub_1', 1, { termEndMs: T0 }));
    expect(await second.checkpointStore().load('lifecycle-scheduler')).toBe(42n);
    expect(await second.count()).toBe(1);
  });
});

describe('ScheduleTable on SQLite: an existing embedded install', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTmpDir('sub-eol-schedule-old-');
  });
  afterEach(() => removeTmpDir(dir));

  it('keeps its schedule and checkpoint: scheduler.sqlite as the synchronous table wrote it', async () => {
    // The layout of the earlier ScheduleTable and SqliteCheckpointStore, written with their SQL.
    const file = join(dir, 'scheduler.sqlite');
    const old = new Database(file);
    old.exec(`
      CREATE TABLE lifecycle_schedule (
        subscription_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, revision INTEGER NOT NULL,
        status TEXT NOT NULL, term_end_job TEXT, term_end_due INTEGER, purge_job TEXT,
        purge_due INTEGER);
      CREATE INDEX lifecycle_schedule_account ON lifecycle_schedule (account_id);
      CREATE TABLE checkpoints (name TEXT PRIMARY KEY, position TEXT NOT NULL);`);
    const before = row('sub_1', 4, { termEndMs: T0, purgeMs: T0 + DAY });
    old
      .prepare('INSERT INTO lifecycle_schedule VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(
        'sub_1',
        'acc_1',
        4,
        'active',
        before.jobs[0]!.jobId,
        T0,
        before.jobs[1]!.jobId,
        T0 + DAY,
      );
    old.prepare('INSERT INTO checkpoints VALUES (?, ?)').run('lifecycle-scheduler', '990');
    old.close();

    const table = await ScheduleTable.open({ dataDir: dir });
    try {
      expect(table.location).toBe(file);
      expect(await table.get('sub_1')).toEqual(before);
      const checkpoints = table.checkpointStore();
      expect(await checkpoints.load('lifecycle-scheduler')).toBe(990n);
      await checkpoints.save('lifecycle-scheduler', 1000n);
    } finally {
      await table.close();
    }
    // Still the layout ops tools read (SqliteCheckpointStore).
    const again = SqliteCheckpointStore.open(file);
    expect(await again.load('lifecycle-scheduler')).toBe(1000n);
    await again.close();
  });
});

describe('ScheduleTable on PostgreSQL: shared by worker processes', () => {
  const store = postgresStore();
  let options: ScheduleTableOptions;
  const open: ScheduleTable[] = [];

  beforeEach(async () => {
    options = await store.setUp();
  });

  afterEach(async () => {
    for (const table of open.splice(0)) await table.close();
    await store.tearDown();
  });

  it('two processes opening a new schema at once both open it; each sees the rows and checkpoint the other writes', async () => {
    const [a, b] = await Promise.all([ScheduleTable.open(options), ScheduleTable.open(options)]);
    open.push(a, b);
    expect([a.dialect, b.dialect]).toEqual(['postgres', 'postgres']);
    expect(a.location).not.toContain('@'); // no credentials in logs

    await a.putAll([row('sub_1', 1, { account: 'acc_x', termEndMs: T0 })]);
    expect(await b.get('sub_1')).toEqual(row('sub_1', 1, { account: 'acc_x', termEndMs: T0 }));
    await b.putAll([row('sub_2', 0, { account: 'acc_x', purgeMs: T0 + DAY })]);
    expect([...(await a.getMany(['sub_1', 'sub_2'])).keys()].sort()).toEqual(['sub_1', 'sub_2']);
    expect((await a.subscriptionsOfAccount('acc_x')).sort()).toEqual(['sub_1', 'sub_2']);
    expect((await b.allDesiredJobs()).map((j) => j.data.subscriptionId)).toEqual([
      'sub_1',
      'sub_2',
    ]);

    // A fail-over: the scheduler taking over is ahead; the old one's late save does not undo it.
    await b.checkpointStore().save('lifecycle-scheduler', 100n);
    await a.checkpointStore().save('lifecycle-scheduler', 90n);
    expect(await a.checkpointStore().load('lifecycle-scheduler')).toBe(100n);
    // The old scheduler's older derivation of a row does not undo the newer one either.
    await b.putAll([row('sub_1', 2, { account: 'acc_x', status: 'ended' })]);
    await a.putAll([row('sub_1', 1, { account: 'acc_x', termEndMs: T0 })]);
    expect((await a.get('sub_1'))?.status).toBe('ended');
    expect(await b.count()).toBe(2);
  });

  it('lives in the schema of READ_DB_URL, with the account index; nothing under DATA_DIR', async () => {
    const table = await ScheduleTable.open(options);
    open.push(table);
    const schema = new URL(options.readDbUrl!).searchParams.get('schema')!;
    const found = await onPostgres(async (c) => {
      const tables = await c.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
        [schema],
      );
      const indexes = await c.query<{ indexname: string }>(
        'SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1',
        [schema],
      );
      return {
        tables: tables.rows.map((r) => r.table_name),
        indexes: indexes.rows.map((r) => r.indexname),
      };
    });
    expect(found.tables).toEqual(['lifecycle_checkpoints', 'lifecycle_schedule']);
    expect(found.indexes).toContain('lifecycle_schedule_account');
    expect(readdirSync(options.dataDir)).toEqual([]);
  });
});

describe('the lifecycle with READ_DB_URL', () => {
  const redis = usePrivateRedis();
  const store = postgresStore();
  afterEach(() => store.tearDown());

  it('keeps the scheduler table and checkpoint in PostgreSQL, where another process reads them; no scheduler.sqlite', async () => {
    const { readDbUrl } = await store.setUp();
    const t = await startLifecycleApp({ redisUrl: redis.url, env: { READ_DB_URL: readDbUrl! } });
    try {
      // A term end half an hour after the clock: within the horizon, so its job is in Redis too.
      await register(t, { subscriptionId: 'sub_pg', termStart: '2026-01-10T10:30:00+01:00' });
      await scheduled(t);
      expect(t.lifecycle.table!.dialect).toBe('postgres');
      const other = await ScheduleTable.open({ dataDir: t.dataDir, readDbUrl });
      try {
        const row = await other.get('sub_pg');
        const inRedis = await jobIds(t, 'term-end');
        expect(inRedis).toHaveLength(1);
        expect(row?.jobs.map((j) => j.jobId)).toEqual(inRedis);
        expect(await other.checkpointStore().load(SCHEDULER_SUBSCRIPTION)).toBe(
          t.lifecycle.scheduler!.position,
        );
      } finally {
        await other.close();
      }
      expect(existsSync(join(t.dataDir, 'scheduler.sqlite'))).toBe(false);
    } finally {
      await t.close();
    }
  });
});
