import type { Statement } from 'better-sqlite3';
import {
  type CheckpointStore,
  openSqliteDatabase,
  positionFromString,
  positionToString,
  type SqliteDatabase,
} from '@app/event-store';
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

interface RawRow {
  subscription_id: string;
  account_id: string;
  revision: number;
  status: string;
  term_end_job: string | null;
  term_end_due: number | null;
  purge_job: string | null;
  purge_due: number | null;
}

const SCHEMA = `
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
`;

/**
 * The scheduler's own derived table (DATA_DIR/scheduler.sqlite): per subscription, the jobs the
 * log calls for, as of the last event the scheduler handled. It gives the scheduler the jobs to
 * remove when a state moves on (superseded ids), the reconciler its list of every due job, and
 * the account → subscriptions index a legal-hold release needs. Like every derived state it can
 * be dropped: resetting the scheduler's checkpoint rebuilds it from the log.
 */
export class ScheduleTable {
  private readonly db: SqliteDatabase;
  private readonly stmt: {
    get: Statement<[string]>;
    upsert: Statement<
      [string, string, number, string, string | null, number | null, string | null, number | null]
    >;
    byAccount: Statement<[string]>;
    all: Statement<[]>;
    count: Statement<[]>;
  };

  static open(filePath: string): ScheduleTable {
    return new ScheduleTable(openSqliteDatabase(filePath));
  }

  private constructor(db: SqliteDatabase) {
    this.db = db;
    // No fsync per commit: this table and the scheduler's checkpoint (checkpointStore(), same
    // file) are derived state. WAL commits survive or vanish in order, so after a power loss rows
    // and checkpoint are lost together and the scheduler re-derives those events; a row is never
    // lost while a later checkpoint survives. The jobs themselves are already in Redis by then.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.stmt = {
      get: db.prepare<[string]>('SELECT * FROM lifecycle_schedule WHERE subscription_id = ?'),
      upsert: db.prepare(
        `INSERT INTO lifecycle_schedule
           (subscription_id, account_id, revision, status, term_end_job, term_end_due, purge_job, purge_due)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (subscription_id) DO UPDATE SET
           account_id = excluded.account_id, revision = excluded.revision, status = excluded.status,
           term_end_job = excluded.term_end_job, term_end_due = excluded.term_end_due,
           purge_job = excluded.purge_job, purge_due = excluded.purge_due
         WHERE excluded.revision >= lifecycle_schedule.revision`,
      ),
      byAccount: db
        .prepare<[string]>('SELECT subscription_id FROM lifecycle_schedule WHERE account_id = ?')
        .pluck(),
      all: db.prepare<[]>(
        'SELECT * FROM lifecycle_schedule WHERE term_end_job IS NOT NULL OR purge_job IS NOT NULL',
      ),
      count: db.prepare<[]>('SELECT COUNT(*) FROM lifecycle_schedule').pluck(),
    };
  }

  get(subscriptionId: string): ScheduleRow | null {
    const raw = this.stmt.get.get(subscriptionId) as RawRow | undefined;
    return raw ? toRow(raw) : null;
  }

  /** Writes rows in one transaction; a row older (by revision) than the stored one is ignored. */
  putAll(rows: readonly ScheduleRow[]): void {
    const write = this.db.transaction((batch: readonly ScheduleRow[]) => {
      for (const r of batch) {
        const termEnd = r.jobs.find((j) => j.kind === 'term-end') ?? null;
        const purge = r.jobs.find((j) => j.kind === 'purge') ?? null;
        this.stmt.upsert.run(
          r.subscriptionId,
          r.accountId,
          r.revision,
          r.status,
          termEnd?.jobId ?? null,
          termEnd?.dueMs ?? null,
          purge?.jobId ?? null,
          purge?.dueMs ?? null,
        );
      }
    });
    write(rows);
  }

  subscriptionsOfAccount(accountId: string): string[] {
    return this.stmt.byAccount.all(accountId) as string[];
  }

  /** Every job the log currently calls for, in due order. */
  allDesiredJobs(): DesiredJob[] {
    const jobs: DesiredJob[] = [];
    for (const raw of this.stmt.all.iterate() as IterableIterator<RawRow>)
      jobs.push(...toRow(raw).jobs);
    return jobs.sort((a, b) => a.dueMs - b.dueMs);
  }

  /**
   * The scheduler's checkpoint, kept in this file's `checkpoints` table (the schema of
   * SqliteCheckpointStore, which ops tools read) on this table's connection.
   */
  checkpointStore(): CheckpointStore {
    const db = this.db;
    db.exec(
      'CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position TEXT NOT NULL)',
    );
    const load = db.prepare<[string]>('SELECT position FROM checkpoints WHERE name = ?').pluck();
    const save = db.prepare<[string, string]>(
      'INSERT INTO checkpoints (name, position) VALUES (?, ?) ' +
        'ON CONFLICT (name) DO UPDATE SET position = excluded.position',
    );
    const reset = db.prepare<[string]>('DELETE FROM checkpoints WHERE name = ?');
    return {
      load: async (name) => {
        const stored = load.get(name) as string | undefined;
        return stored === undefined ? null : positionFromString(stored);
      },
      save: async (name, position) => void save.run(name, positionToString(position)),
      reset: async (name) => void reset.run(name),
      close: async () => undefined, // closed with the table
    };
  }

  count(): number {
    return this.stmt.count.get() as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toRow(raw: RawRow): ScheduleRow {
  const jobs: DesiredJob[] = [];
  const add = (kind: LifecycleJobKind, jobId: string | null, dueMs: number | null): void => {
    if (jobId === null || dueMs === null) return;
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
  return {
    subscriptionId: raw.subscription_id,
    accountId: raw.account_id,
    revision: raw.revision,
    status: raw.status,
    jobs,
  };
}
