import { join } from 'node:path';
import { Kysely, PostgresDialect, sql, SqliteDialect } from 'kysely';
import { Pool } from 'pg';
import {
  type CheckpointStore,
  openSqliteDatabase,
  parsePostgresUrl,
  positionFromString,
  positionToString,
  withStatementCache,
} from '@app/event-store';
import { connectDedicated } from '@app/read-models';
import type { LifecycleJobKind } from './job-ids';
import type { DesiredJob } from './queues';

/** One subscription's row: the jobs its state called for when the scheduler last derived it. */
export interface ScheduleRow {
  readonly subscriptionId: string;
  readonly accountId: string;
  /** Stream revision the row was derived from; rows never go back to an older revision. */
  readonly revision: number;
  readonly status: string;
  readonly jobs: readonly DesiredJob[];
}

export interface ScheduleTableOptions {
  /** Embedded default: `<dataDir>/scheduler.sqlite` (schedulerDbPath). */
  dataDir: string;
  /**
   * READ_DB_URL: `postgres://…` puts the table and the checkpoint in PostgreSQL, shared by every
   * worker process; a `schema` query parameter (`postgres://…/db?schema=name`) puts them in that
   * schema (created if missing), as for the read models.
   */
  readDbUrl?: string | undefined;
  /** PostgreSQL pool size (default 4: the scheduler and the reconciler take turns). */
  poolSize?: number;
}

export type ScheduleDialect = 'sqlite' | 'postgres';

interface LifecycleScheduleTable {
  subscription_id: string;
  account_id: string;
  revision: number;
  status: string;
  term_end_job: string | null;
  /** Epoch ms: INTEGER in SQLite; BIGINT in PostgreSQL, which pg returns as a string. */
  term_end_due: number | string | null;
  purge_job: string | null;
  purge_due: number | string | null;
  /** D7: the next purge notice's job (added by a later migration; absent in older rows: null). */
  notice_job: string | null;
  notice_due: number | string | null;
}

interface ScheduleDatabase {
  lifecycle_schedule: LifecycleScheduleTable;
}

/** The embedded default's file: the schedule and the scheduler's checkpoint without READ_DB_URL. */
export const schedulerDbPath = (dataDir: string): string => join(dataDir, 'scheduler.sqlite');

const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS lifecycle_schedule (
  subscription_id TEXT PRIMARY KEY,
  account_id      TEXT NOT NULL,
  revision        INTEGER NOT NULL,
  status          TEXT NOT NULL,
  term_end_job    TEXT,
  term_end_due    INTEGER,
  purge_job       TEXT,
  purge_due       INTEGER
);
CREATE INDEX IF NOT EXISTS lifecycle_schedule_account ON lifecycle_schedule (account_id);
CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position TEXT NOT NULL);
`;

/** D7's columns, added to tables created before purge notices (SQLite has no ADD COLUMN IF NOT EXISTS). */
const SQLITE_NOTICE_COLUMNS: readonly [string, string][] = [
  ['notice_job', 'TEXT'],
  ['notice_due', 'INTEGER'],
];

const POSTGRES_SCHEMA = `
CREATE TABLE IF NOT EXISTS lifecycle_schedule (
  subscription_id text PRIMARY KEY,
  account_id      text NOT NULL,
  revision        integer NOT NULL,
  status          text NOT NULL,
  term_end_job    text,
  term_end_due    bigint,
  purge_job       text,
  purge_due       bigint
);
CREATE INDEX IF NOT EXISTS lifecycle_schedule_account ON lifecycle_schedule (account_id);
CREATE TABLE IF NOT EXISTS lifecycle_checkpoints (name text PRIMARY KEY, position bigint NOT NULL);
ALTER TABLE lifecycle_schedule ADD COLUMN IF NOT EXISTS notice_job text;
ALTER TABLE lifecycle_schedule ADD COLUMN IF NOT EXISTS notice_due bigint;
`;

/**
 * Scheduling at scale: the loader and the reconciler read the jobs due before a limit through
 * these, one index per due column, ordered by (due, subscription) so that a page of a month-end
 * (every job due at one instant) is read in index order, without a sort. Partial: a row without
 * that job takes no entry. Created after the notice columns exist (a later migration added them).
 */
const DUE_INDEXES = `
CREATE INDEX IF NOT EXISTS lifecycle_schedule_term_end_due
  ON lifecycle_schedule (term_end_due, subscription_id) WHERE term_end_due IS NOT NULL;
CREATE INDEX IF NOT EXISTS lifecycle_schedule_purge_due
  ON lifecycle_schedule (purge_due, subscription_id) WHERE purge_due IS NOT NULL;
CREATE INDEX IF NOT EXISTS lifecycle_schedule_notice_due
  ON lifecycle_schedule (notice_due, subscription_id) WHERE notice_due IS NOT NULL;
`;

/** The columns of each job kind (the loader reads them one kind at a time). */
const JOB_COLUMNS = {
  'term-end': { job: 'term_end_job', due: 'term_end_due' },
  purge: { job: 'purge_job', due: 'purge_due' },
  'purge-notice': { job: 'notice_job', due: 'notice_due' },
} as const satisfies Record<LifecycleJobKind, { job: string; due: string }>;

const JOB_KINDS = Object.keys(JOB_COLUMNS) as LifecycleJobKind[];

/** Rows per statement: at 10 parameters a row, far below SQLite's and PostgreSQL's limits. */
const CHUNK = 1000;

/**
 * The scheduler's own derived table: per subscription, the jobs the log calls for, as of the
 * last event the scheduler handled, and the scheduler's checkpoint beside it. It gives the
 * scheduler the jobs to remove when a state moves on (superseded ids), the reconciler its list
 * of every due job, and the account → subscriptions index a legal-hold release needs. Like every
 * derived state it can be dropped: resetting the scheduler's checkpoint rebuilds it from the log.
 *
 * Embedded default: DATA_DIR/scheduler.sqlite (tables `lifecycle_schedule` and `checkpoints`).
 * With READ_DB_URL: PostgreSQL (`lifecycle_schedule` and `lifecycle_checkpoints`), so that worker
 * processes on disks of their own share it: a new worker does not replay the whole log, and
 * another worker can take over where one stopped.
 */
export class ScheduleTable {
  private closed = false;

  private constructor(
    private readonly db: Kysely<ScheduleDatabase>,
    readonly dialect: ScheduleDialect,
    /** Where the table lives, without credentials (for logs and errors). */
    readonly location: string,
  ) {}

  static async open(options: ScheduleTableOptions): Promise<ScheduleTable> {
    if (!options.readDbUrl) return ScheduleTable.openSqlite(schedulerDbPath(options.dataDir));
    return ScheduleTable.openPostgres(options.readDbUrl, options.poolSize ?? 2);
  }

  private static openSqlite(file: string): ScheduleTable {
    const database = openSqliteDatabase(file);
    try {
      // No fsync per commit: this table and the scheduler's checkpoint (checkpointStore(), same
      // file) are derived state. WAL commits survive or vanish in order, so after a power loss
      // rows and checkpoint are lost together and the scheduler re-derives those events; a row is
      // never lost while a later checkpoint survives. The jobs themselves are already in Redis by
      // then.
      database.pragma('synchronous = NORMAL');
      database.exec(SQLITE_SCHEMA);
      const columns = new Set(
        (database.prepare('PRAGMA table_info(lifecycle_schedule)').all() as { name: string }[]).map(
          (c) => c.name,
        ),
      );
      for (const [name, type] of SQLITE_NOTICE_COLUMNS)
        if (!columns.has(name))
          try {
            database.exec(`ALTER TABLE lifecycle_schedule ADD COLUMN ${name} ${type}`);
          } catch (error) {
            // Another process sharing the file added it in between.
            if (!/duplicate column/i.test((error as Error).message)) throw error;
          }
      database.exec(DUE_INDEXES);
    } catch (error) {
      database.close();
      throw error;
    }
    const db = new Kysely<ScheduleDatabase>({
      dialect: new SqliteDialect({ database: withStatementCache(database) }),
    });
    return new ScheduleTable(db, 'sqlite', file);
  }

  private static async openPostgres(url: string, poolSize: number): Promise<ScheduleTable> {
    // READ_DB_URL as the read database reads it (read-db.ts): `schema` is the tables' schema.
    const { connectionString, schema } = parsePostgresUrl(url);
    await ScheduleTable.createPostgresTables(url, schema);
    const pool = new Pool({
      connectionString,
      max: poolSize,
      options: `-c search_path=${schema}`,
      // A dead server fails requests quickly instead of queueing them for ever.
      connectionTimeoutMillis: 5000,
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const db = new Kysely<ScheduleDatabase>({ dialect: new PostgresDialect({ pool }) });
    const { host, pathname } = new URL(connectionString);
    return new ScheduleTable(db, 'postgres', `postgres://${host}${pathname}#${schema}`);
  }

  /**
   * Creates the schema and tables in one transaction on a connection of its own, holding the
   * transaction-scoped advisory lock the read database migrates under (read-db.ts): processes
   * opening the same schema at once, or the read models' migration in it, create it one after
   * the other (concurrent `CREATE … IF NOT EXISTS` fails on the catalogue's unique indexes
   * otherwise). The server releases the lock when the transaction ends, also if this process dies.
   */
  private static async createPostgresTables(url: string, schema: string): Promise<void> {
    const client = await connectDedicated(url);
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('rm_migrations'), hashtext($1))", [
        schema,
      ]);
      const id = client.escapeIdentifier(schema);
      if (schema !== 'public') await client.query(`CREATE SCHEMA IF NOT EXISTS ${id}`);
      await client.query(`SET LOCAL search_path TO ${id}`);
      await client.query(POSTGRES_SCHEMA);
      await client.query(DUE_INDEXES);
      await client.query('COMMIT');
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async get(subscriptionId: string): Promise<ScheduleRow | null> {
    const raw = await this.db
      .selectFrom('lifecycle_schedule')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .executeTakeFirst();
    return raw ? toRow(raw) : null;
  }

  /** The rows of these subscriptions (absent ones are not in the map), in one query per 1000. */
  async getMany(subscriptionIds: readonly string[]): Promise<Map<string, ScheduleRow>> {
    const rows = new Map<string, ScheduleRow>();
    const ids = [...new Set(subscriptionIds)];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const raws = await this.db
        .selectFrom('lifecycle_schedule')
        .selectAll()
        .where('subscription_id', 'in', ids.slice(i, i + CHUNK))
        .execute();
      for (const raw of raws) rows.set(raw.subscription_id, toRow(raw));
    }
    return rows;
  }

  /** Writes rows in one transaction; a row older (by revision) than the stored one is ignored. */
  async putAll(rows: readonly ScheduleRow[]): Promise<void> {
    // One statement per chunk, and a statement may not upsert a row twice (PostgreSQL refuses):
    // of several rows of one subscription, keep the one writing them in turn would leave (the
    // highest revision, the last of equals).
    const latest = new Map<string, ScheduleRow>();
    for (const r of rows) {
      const seen = latest.get(r.subscriptionId);
      if (!seen || r.revision >= seen.revision) latest.set(r.subscriptionId, r);
    }
    const values = [...latest.values()].map(toRaw);
    if (values.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < values.length; i += CHUNK)
        await trx
          .insertInto('lifecycle_schedule')
          .values(values.slice(i, i + CHUNK))
          .onConflict((oc) =>
            oc
              .column('subscription_id')
              .doUpdateSet((eb) => ({
                account_id: eb.ref('excluded.account_id'),
                revision: eb.ref('excluded.revision'),
                status: eb.ref('excluded.status'),
                term_end_job: eb.ref('excluded.term_end_job'),
                term_end_due: eb.ref('excluded.term_end_due'),
                purge_job: eb.ref('excluded.purge_job'),
                purge_due: eb.ref('excluded.purge_due'),
                notice_job: eb.ref('excluded.notice_job'),
                notice_due: eb.ref('excluded.notice_due'),
              }))
              .where((eb) => eb('excluded.revision', '>=', eb.ref('lifecycle_schedule.revision'))),
          )
          .execute();
    });
  }

  async subscriptionsOfAccount(accountId: string): Promise<string[]> {
    const raws = await this.db
      .selectFrom('lifecycle_schedule')
      .select('subscription_id')
      .where('account_id', '=', accountId)
      .execute();
    return raws.map((r) => r.subscription_id);
  }

  /** Every job the log currently calls for, in due order (then by job id). */
  async allDesiredJobs(): Promise<DesiredJob[]> {
    const raws = await this.db
      .selectFrom('lifecycle_schedule')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('term_end_job', 'is not', null),
          eb('purge_job', 'is not', null),
          eb('notice_job', 'is not', null),
        ]),
      )
      .execute();
    const jobs: DesiredJob[] = [];
    for (const raw of raws) jobs.push(...toRow(raw).jobs);
    return jobs.sort(
      (a, b) => a.dueMs - b.dueMs || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0),
    );
  }

  /**
   * Scheduling at scale: the jobs the table calls for that are due in [fromMs, toMs) (fromMs null:
   * from the beginning), in pages of at most `pageSize`, one kind after the other, each kind in
   * due order (then by subscription). Reads through the due indexes, keyset-paginated, so a page
   * costs the same at the start and the end of a month-end burst.
   */
  async *jobsDue(
    fromMs: number | null,
    toMs: number,
    pageSize = 5000,
  ): AsyncGenerator<DesiredJob[], void, undefined> {
    for (const kind of JOB_KINDS) {
      const { job, due } = JOB_COLUMNS[kind];
      let after: { dueMs: number; subscriptionId: string } | null = null;
      for (;;) {
        const from: ReturnType<typeof sql> = after
          ? sql`(${sql.ref(due)}, subscription_id) > (${after.dueMs}, ${after.subscriptionId})`
          : fromMs === null
            ? sql`${sql.ref(due)} IS NOT NULL`
            : sql`${sql.ref(due)} >= ${fromMs}`;
        const { rows } = await sql<{
          subscription_id: string;
          account_id: string;
          job_id: string | null;
          due_ms: number | string;
        }>`SELECT subscription_id, account_id, ${sql.ref(job)} AS job_id, ${sql.ref(due)} AS due_ms
          FROM lifecycle_schedule
          WHERE ${from} AND ${sql.ref(due)} < ${toMs}
          ORDER BY ${sql.ref(due)}, subscription_id
          LIMIT ${pageSize}`.execute(this.db);
        const jobs: DesiredJob[] = [];
        for (const r of rows) {
          if (r.job_id === null) continue;
          const dueMs = Number(r.due_ms);
          jobs.push({
            kind,
            jobId: r.job_id,
            dueMs,
            data: {
              subscriptionId: r.subscription_id,
              accountId: r.account_id,
              dueAt: new Date(dueMs).toISOString(),
            },
          });
        }
        if (jobs.length > 0) yield jobs;
        if (rows.length < pageSize) break;
        const last = rows[rows.length - 1]!;
        after = { dueMs: Number(last.due_ms), subscriptionId: last.subscription_id };
      }
    }
  }

  /** The earliest due instant in (afterMs, toMs] of a job the table calls for, or null. */
  async nextDueAfter(afterMs: number, toMs: number): Promise<number | null> {
    let next: number | null = null;
    for (const kind of JOB_KINDS) {
      const due = sql.ref(JOB_COLUMNS[kind].due);
      const { rows } = await sql<{ next: number | string | null }>`SELECT min(${due}) AS next
        FROM lifecycle_schedule WHERE ${due} > ${afterMs} AND ${due} <= ${toMs}`.execute(this.db);
      const found = rows[0]?.next;
      if (found !== null && found !== undefined && (next === null || Number(found) < next))
        next = Number(found);
    }
    return next;
  }

  /**
   * The scheduler's checkpoint, on this table's connections: in SQLite the file's `checkpoints`
   * table (the schema of SqliteCheckpointStore, which ops tools read), in PostgreSQL
   * `lifecycle_checkpoints`. A save never moves a stored position backwards: while two
   * schedulers run at once (a fail-over), the one behind cannot undo the other's progress; only
   * reset() goes back (a rebuild).
   */
  checkpointStore(): CheckpointStore {
    const db = this.db;
    const table = sql.table(this.dialect === 'sqlite' ? 'checkpoints' : 'lifecycle_checkpoints');
    // SQLite keeps positions as decimal text: compared as integers, not as text ('9' > '10').
    const behind =
      this.dialect === 'sqlite'
        ? sql`CAST(${table}.position AS INTEGER) < CAST(excluded.position AS INTEGER)`
        : sql`${table}.position < excluded.position`;
    return {
      load: async (name) => {
        const { rows } = await sql<{
          position: string | number;
        }>`SELECT position FROM ${table} WHERE name = ${name}`.execute(db);
        return rows[0] ? positionFromString(String(rows[0].position)) : null;
      },
      save: async (name, position) => {
        await sql`INSERT INTO ${table} (name, position) VALUES (${name}, ${positionToString(position)})
          ON CONFLICT (name) DO UPDATE SET position = excluded.position WHERE ${behind}`.execute(
          db,
        );
      },
      reset: async (name) => {
        await sql`DELETE FROM ${table} WHERE name = ${name}`.execute(db);
      },
      close: async () => undefined, // closed with the table
    };
  }

  async count(): Promise<number> {
    const { n } = await this.db
      .selectFrom('lifecycle_schedule')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return Number(n);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }
}

function toRaw(r: ScheduleRow): LifecycleScheduleTable {
  const termEnd = r.jobs.find((j) => j.kind === 'term-end') ?? null;
  const purge = r.jobs.find((j) => j.kind === 'purge') ?? null;
  const notice = r.jobs.find((j) => j.kind === 'purge-notice') ?? null;
  return {
    subscription_id: r.subscriptionId,
    account_id: r.accountId,
    revision: r.revision,
    status: r.status,
    term_end_job: termEnd?.jobId ?? null,
    term_end_due: termEnd?.dueMs ?? null,
    purge_job: purge?.jobId ?? null,
    purge_due: purge?.dueMs ?? null,
    notice_job: notice?.jobId ?? null,
    notice_due: notice?.dueMs ?? null,
  };
}

function toRow(raw: LifecycleScheduleTable): ScheduleRow {
  const jobs: DesiredJob[] = [];
  const add = (kind: LifecycleJobKind, jobId: string | null, due: number | string | null): void => {
    if (jobId === null || due === null) return;
    const dueMs = Number(due);
    jobs.push({
      kind,
      jobId,
      dueMs,
      data: {
        subscriptionId: raw.subscription_id,
        accountId: raw.account_id,
        dueAt: new Date(dueMs).toISOString(),
      },
    });
  };
  add('term-end', raw.term_end_job, raw.term_end_due);
  add('purge', raw.purge_job, raw.purge_due);
  add('purge-notice', raw.notice_job ?? null, raw.notice_due ?? null);
  return {
    subscriptionId: raw.subscription_id,
    accountId: raw.account_id,
    revision: raw.revision,
    status: raw.status,
    jobs,
  };
}
