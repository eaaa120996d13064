import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { cpuBudget } from '@app/platform';
import {
  PROJECTED_TABLES,
  READ_MODELS_PROJECTION,
  type ScrubMarkers,
  type Upcast,
} from '@app/read-models';
import {
  type FoldPartitionOptions,
  type FoldPartitionResult,
  foldPartition,
  startFoldThread,
  type FoldThread,
} from './read-model-bulk-fold';
import { loadUpcasters, type UpcasterModule } from './upcaster-module';
import { journalInMemory } from './sqlite-bulk-pragmas';

export { BulkBuildUnsupportedError } from './bulk-build-unsupported.error';
export type { UpcasterModule } from './upcaster-module';

/**
 * Bulk build of the read models into an empty SQLite shadow file, straight from the SQLite event
 * log: the fast path of a full replay (`replayReadModels`).
 *
 * Its rows are the projection's own: every row is made by the mapping `ReadModelProjection` uses
 * (read-model-rows.ts), with the same upcasters before the fold. What differs is how they are
 * written, in parallel threads (bulk-build.worker.ts) with prepared statements:
 the log's streams split into partitions, one folded on this thread and the others in worker
 * threads (`foldPartition`, read-model-bulk-fold.ts), each into a scratch file of the shadow's
 * schema (its events' audit rows included: the event is parsed once for both), copied into the
 * shadow at the end.
 *
 * Both write with the rollback journal in memory and without fsync (a shadow lost to a crash is
 * simply built again; see journalInMemory), and without secondary indexes (the caller makes
 * those it needs).
 */
export interface BulkBuildOptions {
  /** The SQLite event log. */
  logFile: string;
  /** The shadow read-models file: migrated, every rebuilt table empty, rm_scrubs filled. */
  shadowFile: string;
  /** Build up to this position (included); later events are the caller's top-up. */
  until: bigint;
  /**
   * Upcasters as a function: the fold runs on this thread only (a function cannot be handed to
   * another thread). Give `upcasterModule` as well (the same upcasters, as a module each thread
   * loads) to fold in parallel.
   */
  upcast?: Upcast | undefined;
  upcasterModule?: UpcasterModule | undefined;
  /**
   * Threads folding streams (default: 2 when the process may keep 2 CPUs busy, container CPU
   * limit included, else 1), this one included; with `upcast` and no `upcasterModule`, 1.
   */
  foldThreads?: number;
  /** Events per page of the fold (read, fold, one write transaction). Default 8192. */
  pageSize?: number;
  /**
   * Subscription and account entries kept in memory between pages, per fold thread (default
   * 20,000): enough for the events a stream gets close together; rows of streams seen again
   * later are read back.
   */
  maxCachedStreams?: number;
  /**
   * Ids of streams whose entry left the cache, remembered per fold thread and kind (default
   * 500,000); past that every cache miss looks its row up, so memory stays bounded.
   */
  maxEvictedIds?: number;
  /** Progress: events folded and position reached by every thread; then the event loop gets a turn. */
  onPage?: (events: number, position: bigint) => void;
}

export interface BulkBuildResult {
  events: number;
  /** Last position built (null: nothing to build). */
  position: bigint | null;
  subscriptionRows: number;
  accountRows: number;
  /** Rows read back after their entry had left the cache. */
  reloads: number;
  /** Threads that folded streams. */
  foldThreads: number;
}

/** The tables the fold threads write (copied into the shadow at the end). */
const FOLDED_TABLES: readonly string[] = PROJECTED_TABLES;

export async function bulkBuildReadModels(o: BulkBuildOptions): Promise<BulkBuildResult> {
  const until = Number(o.until);
  const threads =
    o.upcast && !o.upcasterModule
      ? 1
      : Math.max(1, Math.trunc(o.foldThreads ?? Math.min(2, cpuBudget())));
  const { ddl, scrubs } = readShadow(o.shadowFile);
  const partition = (index: number): FoldPartitionOptions => ({
    logFile: o.logFile,
    scratchFile: `${o.shadowFile}.fold${index}`,
    ddl,
    until,
    pageSize: o.pageSize ?? 8192,
    maxCachedStreams: o.maxCachedStreams ?? 20_000,
    maxEvictedIds: o.maxEvictedIds,
    partition: { index, count: threads },
    scrubs,
  });
  const scratchFiles = Array.from({ length: threads }, (_, i) => partition(i).scratchFile);
  const others: FoldThread[] = [];
  try {
    for (let i = 1; i < threads; i++) others.push(startFoldThread(partition(i), o.upcasterModule));
    const report = (own: { events: number; position: number }) =>
      o.onPage?.(
        own.events + others.reduce((n, t) => n + t.events(), 0),
        BigInt(Math.min(own.position, ...others.map((t) => t.position()))),
      );
    // Partition 0 on this thread: it has nothing else to do meanwhile but report progress.
    const own = await foldPartition(partition(0), {
      // The module, when given, is the same upcasters: an empty list folds without any.
      upcast: o.upcasterModule ? loadUpcasters(o.upcasterModule) : o.upcast,
      beforePage() {
        for (const t of others) t.check();
      },
      onPage: (events, position) => report({ events, position }),
    });
    // The other threads may still be at work: progress goes on meanwhile.
    const ownDone = { events: own.events, position: until };
    // A progress callback that throws (the caller stops the build) stops the threads too.
    // In an object: set from the timer's callback, which TypeScript's narrowing does not follow.
    const stop: { error: Error | null } = { error: null };
    const ticker = setInterval(() => {
      try {
        report(ownDone);
      } catch (error) {
        stop.error ??= error instanceof Error ? error : new Error(String(error));
        void Promise.all(others.map((t) => t.stop()));
      }
    }, 250);
    let folded: FoldPartitionResult[];
    try {
      // Awaited together: a failure of any of them ends the wait at once.
      folded = [own, ...(await Promise.all(others.map((t) => t.done)))];
    } catch (error) {
      throw stop.error ?? error;
    } finally {
      clearInterval(ticker);
    }
    // The callback threw, but the threads were done before they could be stopped.
    if (stop.error) throw stop.error;
    report(ownDone);
    const last = folded.reduce<number | null>(
      (m, r) => (r.position === null ? m : Math.max(m ?? r.position, r.position)),
      null,
    );
    const sum = (k: 'events' | 'subscriptionRows' | 'accountRows' | 'reloads') =>
      folded.reduce((n, r: FoldPartitionResult) => n + r[k], 0);
    finish(o.shadowFile, scratchFiles, last);
    return {
      events: sum('events'),
      position: last === null ? null : BigInt(last),
      subscriptionRows: sum('subscriptionRows'),
      accountRows: sum('accountRows'),
      reloads: sum('reloads'),
      foldThreads: threads,
    };
  } finally {
    await Promise.all(others.map((t) => t.stop()));
    for (const f of scratchFiles) rmSync(f, { force: true });
  }
}

/**
 * What each fold thread needs of the shadow: the definitions of the folded tables (its scratch
 * file gets them) and the scrub markers (audit rows of scrubbed subjects are written scrubbed).
 */
function readShadow(shadowFile: string): { ddl: string[]; scrubs: ScrubMarkers } {
  const shadow = new Database(shadowFile, { readonly: true, fileMustExist: true });
  try {
    const ddl = (
      shadow
        .prepare(
          `SELECT sql FROM sqlite_master WHERE type = 'table' AND name IN (${FOLDED_TABLES.map(() => '?').join(', ')})`,
        )
        .pluck()
        .all(...FOLDED_TABLES) as string[]
    ).filter(Boolean);
    const scrubs = { subscriptions: new Set<string>(), accounts: new Set<string>() };
    for (const r of shadow.prepare('SELECT scope, id FROM rm_scrubs').all() as {
      scope: string;
      id: string;
    }[])
      (r.scope === 'account' ? scrubs.accounts : scrubs.subscriptions).add(r.id);
    return { ddl, scrubs };
  } finally {
    shadow.close();
  }
}

/** Copies the folded tables into the shadow and writes the checkpoint. */
function finish(
  shadowFile: string,
  scratchFiles: readonly string[],
  position: number | null,
): void {
  const db = new Database(shadowFile, { fileMustExist: true });
  try {
    journalInMemory(db);
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -16384');
    // Attached before the transaction (SQLite refuses ATTACH inside one).
    scratchFiles.forEach((file, i) => db.prepare(`ATTACH DATABASE ? AS fold${i}`).run(file));
    db.transaction(() => {
      // Each stream was folded by one thread only: the scratch files hold disjoint rows.
      for (const table of FOLDED_TABLES) {
        const all = scratchFiles
          .map((_, i) => `SELECT * FROM fold${i}.${table}`)
          .join(' UNION ALL ');
        // Audit rows in log order: appended at the end of the table's B-tree, not between rows.
        const order = table === 'rm_audit_events' ? ' ORDER BY position' : '';
        db.exec(`INSERT INTO main.${table} ${all}${order}`);
      }
      if (position !== null)
        db.prepare(
          `INSERT INTO main.rm_checkpoints (name, position, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET position = excluded.position,
            updated_at = excluded.updated_at WHERE rm_checkpoints.position < excluded.position`,
        ).run(READ_MODELS_PROJECTION, position, new Date().toISOString());
    })();
    scratchFiles.forEach((_, i) => db.exec(`DETACH DATABASE fold${i}`));
  } finally {
    db.close();
  }
}
