import { hostname } from 'node:os';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { ReplayProgress, ReplayReport } from '@app/ops';
import {
  isLockContention,
  type OpsReplaysTable,
  type ReadDatabase,
  type ReadDb,
} from '@app/read-models';

export type ReplayStatus = 'running' | 'succeeded' | 'failed';

/** A replay job handle as the API returns it. */
export interface ReplayJob {
  id: string;
  status: ReplayStatus;
  projection: string;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string | null;
  progress: ReplayProgress;
  report: ReplayReport | null;
  error: string | null;
  /** The process that runs (ran) it: `hostname/pid`. */
  owner: string;
  /** That process's last sign of life while the replay ran. */
  heartbeatAt: string;
}

export interface ReplayJobStoreOptions {
  /** A running job whose heartbeat is older than this is taken for dead (default 30 s). */
  staleAfterMs?: number;
  /** Jobs kept, the most recent first (default 20). */
  keep?: number;
}

export const REPLAY_STALE_AFTER_MS = 30_000;
export const REPLAY_JOBS_KEPT = 20;

/** `hostname/pid` of this process. */
export const processOwner = (): string => `${hostname()}/${process.pid}`;

type Row = Selectable<OpsReplaysTable>;

/**
 * Replay jobs in the read database (table ops_replays, migration 002): every api replica on the
 * same read database (DATA_DIR or READ_DB_URL schema) sees the same handles, and they outlive
 * the process that started them.
 *
 * One replay at a time across replicas: `claim` checks for a running job and inserts the new one
 * in one exclusive section (SQLite: a `BEGIN IMMEDIATE` write transaction; PostgreSQL: a
 * transaction holding `pg_advisory_xact_lock` for the schema). A running job whose owner has
 * not written a heartbeat for `staleAfterMs` is dead (the process stopped mid-way): it is
 * reported as failed when read, marked failed by the next claim, and does not block it.
 */
export class ReplayJobStore {
  readonly staleAfterMs: number;
  readonly keep: number;

  constructor(
    readonly readDb: ReadDb,
    options: ReplayJobStoreOptions = {},
  ) {
    this.staleAfterMs = options.staleAfterMs ?? REPLAY_STALE_AFTER_MS;
    this.keep = options.keep ?? REPLAY_JOBS_KEPT;
  }

  /**
   * Inserts `candidate` (status running) unless a live job runs: then that one, `started: false`.
   */
  async claim(candidate: ReplayJob): Promise<{ job: ReplayJob; started: boolean }> {
    // Looked up without a lock first: a replay running elsewhere is answered without waiting
    // for the write lock (on SQLite, another replica's switch-over holds it while it tops up).
    const seen = await this.live(this.readDb.db);
    if (seen) return { job: seen, started: false };
    return this.exclusive(async (db) => {
      const running = await this.live(db);
      if (running) return { job: running, started: false };
      // Every running row left is stale (its process stopped): recorded as failed.
      for (const row of await this.runningRows(db)) {
        const dead = this.view(row);
        if (dead.status !== 'failed') continue;
        await db
          .updateTable('ops_replays')
          .set({ status: 'failed', error: dead.error, finished_at: dead.finishedAt })
          .where('id', '=', row.id)
          .where('status', '=', 'running')
          .execute();
      }
      await db.insertInto('ops_replays').values(toRow(candidate)).execute();
      await db
        .deleteFrom('ops_replays')
        .where(
          'id',
          'not in',
          db
            .selectFrom('ops_replays')
            .select('id')
            .orderBy('started_at', 'desc')
            .orderBy('id', 'desc')
            .limit(this.keep),
        )
        .execute();
      return { job: candidate, started: true };
    });
  }

  /**
   * Records a sign of life and the progress so far. Never waits for a lock held elsewhere (on
   * SQLite, another process's projector or a replay's switch-over): the beat is skipped (false)
   * and the next one tries again.
   */
  async heartbeat(id: string, progress: ReplayProgress, at: string): Promise<boolean> {
    const write = (db: Kysely<ReadDatabase>) =>
      db
        .updateTable('ops_replays')
        .set({ heartbeat_at: at, progress: JSON.stringify(progress) })
        .where('id', '=', id)
        .execute();
    if (this.readDb.dialect === 'postgres') {
      await write(this.readDb.db);
      return true;
    }
    try {
      await this.withoutWaiting(write);
      return true;
    } catch (error) {
      if (isLockContention(error)) return false;
      throw error;
    }
  }

  /** The end: status, report or error, final progress. */
  async finish(job: ReplayJob): Promise<void> {
    const write = (db: Kysely<ReadDatabase>) =>
      db
        .updateTable('ops_replays')
        .set({
          status: job.status,
          finished_at: job.finishedAt,
          progress: JSON.stringify(job.progress),
          report: job.report ? JSON.stringify(job.report) : null,
          error: job.error,
          heartbeat_at: job.heartbeatAt,
        })
        .where('id', '=', job.id)
        .execute();
    if (this.readDb.dialect === 'postgres') await write(this.readDb.db);
    else await this.retryWhileLocked(() => this.withoutWaiting(write), FINISH_WAIT_MS);
  }

  async get(id: string): Promise<ReplayJob | null> {
    const row = await this.readDb.db
      .selectFrom('ops_replays')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? this.view(row) : null;
  }

  /** The row as a handle; a running one whose owner stopped beating is reported failed. */
  view(row: Row, now = Date.now()): ReplayJob {
    const job: ReplayJob = {
      id: row.id,
      status: row.status as ReplayStatus,
      projection: row.projection,
      dryRun: Number(row.dry_run) === 1,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      progress: JSON.parse(row.progress) as ReplayProgress,
      report: row.report === null ? null : (JSON.parse(row.report) as ReplayReport),
      error: row.error,
      owner: row.owner,
      heartbeatAt: row.heartbeat_at,
    };
    if (job.status === 'running' && this.isStale(row, now)) {
      job.status = 'failed';
      job.finishedAt = row.heartbeat_at;
      job.error =
        `the process running it (${row.owner}) stopped before it finished: no heartbeat since ` +
        `${row.heartbeat_at} (more than ${Math.round(this.staleAfterMs / 1000)} s); ` +
        'the read models are as they were before it (a replay switches over in one transaction or not at all)';
    }
    return job;
  }

  private isStale(row: Row, now: number): boolean {
    const beat = Date.parse(row.heartbeat_at);
    return !Number.isFinite(beat) || now - beat > this.staleAfterMs;
  }

  private runningRows(db: Kysely<ReadDatabase>): Promise<Row[]> {
    return db
      .selectFrom('ops_replays')
      .selectAll()
      .where('status', '=', 'running')
      .orderBy('started_at', 'desc')
      .execute();
  }

  /** The running job whose owner is alive (the newest, should there be several). */
  private async live(db: Kysely<ReadDatabase>): Promise<ReplayJob | null> {
    const now = Date.now();
    for (const row of await this.runningRows(db))
      if (!this.isStale(row, now)) return this.view(row);
    return null;
  }

  private async exclusive<T>(fn: (db: Kysely<ReadDatabase>) => Promise<T>): Promise<T> {
    if (this.readDb.dialect === 'postgres') {
      const schema = this.readDb.schema ?? 'public';
      return this.readDb.db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext('ops_replays'), hashtext(${schema}))`.execute(
          trx,
        );
        return fn(trx);
      });
    }
    return this.retryWhileLocked(
      () =>
        this.withoutWaiting(async (db) => {
          await sql`begin immediate`.execute(db);
          try {
            const result = await fn(db);
            await sql`commit`.execute(db);
            return result;
          } catch (error) {
            await sql`rollback`.execute(db).catch(() => undefined);
            throw error;
          }
        }),
      CLAIM_WAIT_MS,
    );
  }

  /**
   * SQLite: `fn` on the connection with busy_timeout 0, so that a write lock held by another
   * connection fails at once (SQLITE_BUSY) rather than blocking this process's event loop in
   * SQLite's busy handler (better-sqlite3 is synchronous): the holder may need this very event
   * loop to finish (a replay's switch-over, another ReadDb of the same process). Kysely's SQLite
   * driver lends its one connection to this callback alone (a mutex), so the statements between
   * a BEGIN and a COMMIT in `fn` are ours.
   */
  private withoutWaiting<T>(fn: (db: Kysely<ReadDatabase>) => Promise<T>): Promise<T> {
    return this.readDb.db.connection().execute(async (db) => {
      const before = (await sql<{ timeout: number }>`pragma busy_timeout`.execute(db)).rows[0]
        ?.timeout;
      await sql`pragma busy_timeout = 0`.execute(db);
      try {
        return await fn(db);
      } finally {
        await sql.raw(`pragma busy_timeout = ${Number(before ?? 5000)}`).execute(db);
      }
    });
  }

  /** Tries again (asynchronously, backing off) while another writer holds the lock. */
  private async retryWhileLocked<T>(fn: () => Promise<T>, waitMs: number): Promise<T> {
    const deadline = Date.now() + waitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!isLockContention(error) || Date.now() >= deadline) throw error;
        await new Promise((r) => setTimeout(r, Math.min(5 * 2 ** attempt, 200)));
      }
    }
  }
}

/** SQLite: how long a start waits for the write lock, and the outcome of a replay to be written. */
const CLAIM_WAIT_MS = 10_000;
const FINISH_WAIT_MS = 60_000;

function toRow(job: ReplayJob): Row {
  return {
    id: job.id,
    status: job.status,
    projection: job.projection,
    dry_run: job.dryRun ? 1 : 0,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
    progress: JSON.stringify(job.progress),
    report: job.report ? JSON.stringify(job.report) : null,
    error: job.error,
    owner: job.owner,
    heartbeat_at: job.heartbeatAt,
  };
}
