import { resolve } from 'node:path';
import type { Statement } from 'better-sqlite3';
import {
  AppendResult,
  EventMetadata,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
} from '../event-store.port';
import { checkExpectedRevision, validateAppend } from '../expected-revision';
import { acquireNotifier, AppendNotifier, waitForHead } from '../append-notifier';
import { GroupCommitQueue, Outcome } from '../group-commit';
import {
  openSqliteDatabase,
  SqliteConnectionOptions,
  SqliteDatabase,
  truncateWal,
  WalCheckpointResult,
} from './sqlite-connection';
import { CREATE_SCHEMA, EventRow, SCHEMA_VERSION, SQL } from './sqlite-event-store.sql';
import { newEventId } from '../event-id';
import { WalCheckpointer } from './wal-checkpointer';

export interface SqliteEventStoreOptions extends SqliteConnectionOptions {
  /**
   * Batch concurrent appends of the same event-loop turn into one IMMEDIATE transaction (one
   * fsync). Each append still checks its own expected revision and fails alone. Default true.
   */
  groupCommit?: boolean;
  /** Most appends per group-commit transaction, to bound how long the write lock is held. */
  maxAppendsPerCommit?: number;
  /** How often waitForAppend polls for appends made by other processes. */
  pollIntervalMs?: number;
  /**
   * 'background' (default): this connection never checkpoints inside a commit; a thread of its
   * own (WalCheckpointer, started at the first append) copies the WAL back. 'commit': SQLite's
   * automatic checkpoint in the committing transaction.
   */
  checkpoint?: 'background' | 'commit';
}

/** Serialised when the append is called, so a caller mutating its objects afterwards (before a
 * group commit flushes) cannot change what is written, and bad JSON fails that caller alone. */
interface AppendRequest {
  streamId: string;
  expectedRevision: ExpectedRevision;
  rows: Array<{ eventId: string; type: string; data: string; metadata: string }>;
}

/**
 * The embedded event log: one SQLite file in WAL mode, shareable by several processes.
 * better-sqlite3 is synchronous. A group commit that finds another process writing does not wait
 * in SQLite's busy handler (which sleeps 1, 2, 5, 10 … ms with the event loop blocked, for a lock
 * held about 0.3 ms): it is tried again a millisecond later, appends arriving meanwhile joining
 * it, for up to busyTimeoutMs. An append without group commit still waits in SQLite.
 */
export class SqliteEventStore implements EventStore {
  private readonly db: SqliteDatabase;
  private readonly notifier: AppendNotifier;
  private readonly releaseNotifier: () => void;
  private readonly queue: GroupCommitQueue<AppendRequest, AppendResult> | null;
  private readonly stmt: {
    streamRevision: Statement<[string]>;
    insert: Statement<[string, string, number, string, string, string]>;
    readStream: Statement<[string, number, number]>;
    readAll: Statement<[bigint, number]>;
    head: Statement<[]>;
  };
  private readonly commitBatch: (
    batch: readonly AppendRequest[],
    mayWait?: boolean,
  ) => Outcome<AppendResult>[];
  private readonly reads: GroupCommitQueue<StreamRead, RecordedEvent[]>;
  private closed = false;
  private checkpointer: WalCheckpointer | null = null;
  private readonly backgroundCheckpoint: boolean;
  /** Write transactions committed and appends they carried (appends / transactions = batching). */
  readonly stats = { transactions: 0, appends: 0 };

  static open(filePath: string, options: SqliteEventStoreOptions = {}): SqliteEventStore {
    return new SqliteEventStore(filePath, options);
  }

  private constructor(
    readonly filePath: string,
    private readonly options: SqliteEventStoreOptions,
  ) {
    this.db = openSqliteDatabase(filePath, options);
    this.backgroundCheckpoint = options.checkpoint !== 'commit' && filePath !== ':memory:';
    try {
      if (this.backgroundCheckpoint) this.db.pragma('wal_autocheckpoint = 0');
      this.migrate();
      this.stmt = {
        streamRevision: this.db.prepare<[string]>(SQL.streamRevision).pluck(),
        insert: this.db.prepare<[string, string, number, string, string, string]>(SQL.insert),
        readStream: this.db.prepare<[string, number, number]>(SQL.readStream).safeIntegers(),
        readAll: this.db.prepare<[bigint, number]>(SQL.readAll).safeIntegers(),
        head: this.db.prepare<[]>(SQL.head).pluck().safeIntegers(),
      };
    } catch (err) {
      this.db.close();
      throw err;
    }
    // One outer IMMEDIATE transaction per batch; each request runs in its own savepoint (a nested
    // better-sqlite3 transaction) so a failing request is rolled back alone.
    const appendOne = this.db.transaction((req: AppendRequest) => this.appendInTransaction(req));
    const batch = this.db.transaction((reqs: readonly AppendRequest[]) =>
      reqs.map((req): Outcome<AppendResult> => {
        try {
          return { ok: true, value: appendOne(req) };
        } catch (error) {
          // Some errors (I/O, full disk) make SQLite roll back the whole transaction; carrying on
          // would run the next requests outside any transaction. Fail the batch instead.
          if (!this.db.inTransaction) throw error;
          return { ok: false, error };
        }
      }),
    );
    const busyTimeoutMs = Math.trunc(options.busyTimeoutMs ?? 5000);
    const busyTimeout = {
      none: this.db.prepare('PRAGMA busy_timeout = 0'),
      usual: this.db.prepare(`PRAGMA busy_timeout = ${busyTimeoutMs}`),
    };
    this.commitBatch = (reqs, mayWait = true) => {
      // Not waiting: BEGIN IMMEDIATE fails at once (SQLITE_BUSY, nothing written) while another
      // process writes, and the queue tries again shortly without blocking the event loop.
      if (!mayWait) busyTimeout.none.run();
      let outcomes: Outcome<AppendResult>[];
      try {
        outcomes = batch.immediate(reqs);
      } finally {
        if (!mayWait) busyTimeout.usual.run();
      }
      this.stats.transactions++;
      this.stats.appends += reqs.length;
      return outcomes;
    };
    const readOne = (r: StreamRead): Outcome<RecordedEvent[]> => {
      try {
        const rows = this.stmt.readStream.all(r.streamId, r.fromRevision, r.limit) as EventRow[];
        return { ok: true, value: rows.map(toRecorded) };
      } catch (error) {
        return { ok: false, error };
      }
    };
    // A deferred transaction: one snapshot (and one look at the WAL) for the reads of a turn. An
    // error that made SQLite end the transaction (I/O) fails the batch with that error.
    const readTogether = this.db.transaction((reads: readonly StreamRead[]) =>
      reads.map((read) => {
        const outcome = readOne(read);
        if (!outcome.ok && !this.db.inTransaction) throw outcome.error;
        return outcome;
      }),
    );
    this.reads = new GroupCommitQueue((reads) => {
      if (this.closed) throw new Error(`SqliteEventStore(${this.filePath}) is closed`);
      return reads.length === 1 ? [readOne(reads[0]!)] : readTogether(reads);
    }, MAX_READS_TOGETHER);
    const shared = acquireNotifier(`sqlite:${resolve(filePath)}`);
    this.notifier = shared.notifier;
    this.releaseNotifier = shared.release;
    this.queue =
      options.groupCommit === false
        ? null
        : new GroupCommitQueue(
            this.commitBatch,
            options.maxAppendsPerCommit ?? 256,
            (results) => this.notifyCommitted(results),
            {
              isBusy: (error) => (error as { code?: unknown }).code === 'SQLITE_BUSY',
              retryDelayMs: 1,
              giveUpAfterMs: busyTimeoutMs,
            },
          );
  }

  /**
   * async, but everything up to the enqueue runs synchronously at call time: appends issued in
   * one turn of the event loop still land in one group commit.
   */
  async appendToStream(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    this.assertOpen();
    validateAppend(streamId, events, options.expectedRevision);
    if (this.backgroundCheckpoint) this.checkpointer ??= new WalCheckpointer(this.filePath);
    const req: AppendRequest = {
      streamId,
      expectedRevision: options.expectedRevision,
      rows: events.map((e) => ({
        eventId: e.eventId ?? newEventId(),
        type: e.type,
        data: JSON.stringify(e.data),
        metadata: JSON.stringify(e.metadata),
      })),
    };
    if (this.queue) return this.queue.enqueue(req);
    const [outcome] = this.commitBatch([req]);
    if (!outcome) throw new Error('append produced no outcome');
    if (!outcome.ok) throw outcome.error;
    this.notifyCommitted([outcome.value]);
    return outcome.value;
  }

  /**
   * Stream reads issued in one turn of the event loop run together in one read transaction. Each
   * read transaction that finds the log changed by another connection (another process appending)
   * starts with an empty page cache; read one by one under another process's appends, nearly every
   * stream read paid for the B-tree's pages again.
   */
  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const read = {
      streamId,
      fromRevision: options.fromRevision ?? 0,
      limit: limitOf(options.maxCount),
    };
    return this.reads.enqueue(read);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const rows = this.stmt.readAll.all(
      options.after ?? 0n,
      limitOf(options.maxCount),
    ) as EventRow[];
    return rows.map(toRecorded);
  }

  async headPosition(): Promise<bigint | null> {
    this.assertOpen();
    return this.readHead();
  }

  async waitForAppend(
    after: bigint | null,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    this.assertOpen();
    return waitForHead({
      notifier: this.notifier,
      // A closed store just stops reporting; the wait then ends by timeout or abort.
      readHead: () => (this.closed ? null : this.readHead()),
      after,
      timeoutMs,
      pollIntervalMs: this.options.pollIntervalMs ?? 50,
      ...(signal ? { signal } : {}),
    });
  }

  /**
   * PRAGMA wal_checkpoint(TRUNCATE): after a purge deletes rows, this moves the zeroed pages into
   * the main file and empties the WAL so the deleted bytes are no longer on disk. `busy: 1` in the
   * result means other connections kept it from completing.
   */
  async truncateWal(): Promise<WalCheckpointResult> {
    this.assertOpen();
    return truncateWal(this.db);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.queue?.flush(); // acknowledge or fail every queued append before the handle goes away
    this.reads.flush();
    this.closed = true;
    await this.checkpointer?.stop();
    this.releaseNotifier();
    this.db.close();
  }

  private appendInTransaction(req: AppendRequest): AppendResult {
    const current = this.stmt.streamRevision.get(req.streamId) as number | null;
    checkExpectedRevision(req.streamId, req.expectedRevision, current);
    let revision = current ?? -1;
    let position = 0n;
    for (const row of req.rows) {
      revision++;
      const r = this.stmt.insert.run(
        row.eventId,
        req.streamId,
        revision,
        row.type,
        row.data,
        row.metadata,
      );
      position = BigInt(r.lastInsertRowid);
    }
    return { nextRevision: revision, position };
  }

  private notifyCommitted(results: readonly AppendResult[]): void {
    let max = 0n;
    for (const r of results) if (r.position > max) max = r.position;
    this.notifier.notify(max);
  }

  private readHead(): bigint | null {
    return (this.stmt.head.get() as bigint | null | undefined) ?? null;
  }

  private migrate(): void {
    const version = Number(this.db.pragma('user_version', { simple: true }));
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `${this.filePath}: event log schema v${version} is newer than this code (v${SCHEMA_VERSION})`,
      );
    }
    if (version === SCHEMA_VERSION) return;
    // IMMEDIATE so two processes opening a fresh file do not both try to create it.
    this.db
      .transaction(() => {
        this.db.exec(CREATE_SCHEMA);
        this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })
      .immediate();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`SqliteEventStore(${this.filePath}) is closed`);
  }
}

/** A stream read waiting for the turn's read transaction. */
interface StreamRead {
  streamId: string;
  fromRevision: number;
  limit: number;
}

/** Stream reads per read transaction (a turn of many more is read in several). */
const MAX_READS_TOGETHER = 512;

/** SQLite's LIMIT -1 means "no limit". */
const limitOf = (maxCount: number | undefined): number =>
  maxCount === undefined ? -1 : Math.max(0, Math.trunc(maxCount));

function toRecorded(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    streamId: row.stream_id,
    revision: Number(row.revision),
    position: row.position,
    type: row.type,
    data: JSON.parse(row.data) as Record<string, unknown>,
    metadata: JSON.parse(row.metadata) as EventMetadata,
  };
}
