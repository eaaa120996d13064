import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
// The mapping's module itself, not @app/read-models: each fold thread loads this module, and
// loading the whole library (Kysely, NestJS, the drivers) held a thread's first page back.
import {
  type AccountFold,
  accountFoldOfRow,
  accountRow,
  auditRow,
  emptyAccountFold,
  emptySubscriptionFold,
  foldAccountEvent,
  foldSubscriptionEvent,
  projectedStream,
  type ScrubMarkers,
  type SubscriptionFold,
  subscriptionFoldOfRow,
  subscriptionRow,
} from '../../read-models/src/projection/read-model-rows';
import type {
  AccountsTable,
  SubscriptionsTable,
} from '../../read-models/src/database/read-db.schema';
import type { Upcast } from '@app/read-models';
import { BulkBuildUnsupportedError } from './bulk-build-unsupported.error';
import { type BulkThread, startBulkThread } from './bulk-thread';
import type { UpcasterModule } from './upcaster-module';
import { LOG_ROW_COLUMNS, type LogRow, rowWriter, storedEvent } from './bulk-log-rows';
import { journalInMemory } from './sqlite-bulk-pragmas';

/**
 * The fold of the replay's bulk build (read-model-bulk-build.ts): the events of one partition
 * of the log folded into read-model rows by the projection's own mapping (read-model-rows.ts), the
 * one `ReadModelProjection` uses, written to a scratch file of the shadow's schema:
 * one audit row per event, subscriptions, accounts, purge receipts and confirmations.
 *
 * Streams are independent, so the log is split into partitions by stream id (a sum of the
 * stream id's last characters, in SQL: each thread is handed only its own rows) and each
 * partition is folded in its own thread.
 *
 * Within a partition, streams are folded in memory across pages; a subscription or account row
 * is written once, when its entry leaves the cache (least recently used, `maxCachedStreams`) or
 * at the end, and read back if a later event of it comes (what the projection does between two
 * batches), so memory stays bounded whatever the size of the log.
 */

export interface FoldPartitionOptions {
  logFile: string;
  /** Created here (removed first if it exists), with these table definitions. */
  scratchFile: string;
  ddl: readonly string[];
  /** Fold up to this position (included). */
  until: number;
  pageSize: number;
  maxCachedStreams: number;
  /** Evicted ids remembered per kind before every cache miss looks the row up (default 500,000). */
  maxEvictedIds?: number | undefined;
  /** This thread's share of the streams: `index` of `count` (count 1: every stream). */
  partition: { index: number; count: number };
  /** The shadow's scrub markers: audit rows of scrubbed subjects are written scrubbed. */
  scrubs: ScrubMarkers;
}

export interface FoldPartitionResult {
  events: number;
  /** Last position folded (null: no event of this partition). */
  position: number | null;
  subscriptionRows: number;
  accountRows: number;
  /** Rows read back after their entry had left the cache. */
  reloads: number;
}

export interface FoldHooks {
  upcast?: Upcast | undefined;
  /** After each page: events folded and the position reached. */
  onPage?: (events: number, position: number) => void;
  /** Before each page (throws to stop: a sibling thread failed). */
  beforePage?: () => void;
}

/** Characters at the end of a stream id summed to pick its partition (ids differ there). */
const PARTITION_CHARS = 8;

/** Ids remembered as evicted, per kind, by default (tens of MiB at most). */
const MAX_EVICTED_IDS = 500_000;

/**
 * Ids whose entry left the cache, so that a later event of the stream reads its row back, and a
 * stream seen for the first time does not look for one. Bounded: past `max` ids it forgets them
 * all and answers "maybe" for every id (each cache miss is then one primary-key lookup in the
 * scratch file), so memory stays bounded whatever the number of streams.
 */
class EvictedIds {
  private ids: Set<string> | null = new Set();

  constructor(private readonly max: number) {}

  add(id: string): void {
    if (!this.ids) return;
    if (this.ids.size >= this.max) this.ids = null;
    else this.ids.add(id);
  }

  /** Whether a row of this id may exist (the id is forgotten: its entry is cached again). */
  take(id: string): boolean {
    return this.ids ? this.ids.delete(id) : true;
  }
}

/**
 * `AND <the stream's partition> = index`: the sum of the code points of the id's last
 * characters, modulo count (numeric and random ids spread evenly; the split only decides which
 * thread folds a stream, never what it folds).
 */
export function partitionFilter(p: { index: number; count: number }): string {
  if (!Number.isInteger(p.count) || p.count < 1 || !Number.isInteger(p.index)) {
    throw new Error(`bad partition ${p.index} of ${p.count}`);
  }
  if (p.count === 1) return '';
  const sum = Array.from(
    { length: PARTITION_CHARS },
    (_, i) => `coalesce(unicode(substr(stream_id, ${-(i + 1)}, 1)), 0)`,
  ).join(' + ');
  return ` AND (${sum}) % ${p.count} = ${p.index}`;
}

/** The scratch file of the folded tables: the shadow's own definitions, journal in memory. */
function openScratch(file: string, ddl: readonly string[]): Database.Database {
  rmSync(file, { force: true });
  const db = new Database(file);
  try {
    journalInMemory(db);
    db.pragma('synchronous = OFF');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('cache_size = -65536');
    for (const sql of ddl) db.exec(sql);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Folds the partition's streams into the scratch file (open, written to, closed here). */
export async function foldPartition(
  o: FoldPartitionOptions,
  hooks: FoldHooks = {},
): Promise<FoldPartitionResult> {
  const log = new Database(o.logFile, { readonly: true, fileMustExist: true });
  let db: Database.Database | null = null;
  try {
    // Read once, in order: the OS cache does the rest.
    log.pragma('cache_size = -8192');
    db = openScratch(o.scratchFile, o.ddl);
    const result: FoldPartitionResult = {
      events: 0,
      position: null,
      subscriptionRows: 0,
      accountRows: 0,
      reloads: 0,
    };
    result.position = await foldLog(o, hooks, log, db, result);
    return result;
  } finally {
    db?.close();
    log.close();
  }
}

/** Folds the log into the scratch file; returns the last position folded. */
async function foldLog(
  o: FoldPartitionOptions,
  hooks: FoldHooks,
  log: Database.Database,
  db: Database.Database,
  result: FoldPartitionResult,
): Promise<number | null> {
  const until = o.until;
  const pageSize = o.pageSize;
  const maxCached = o.maxCachedStreams;
  const read = log
    .prepare(
      `SELECT ${LOG_ROW_COLUMNS} FROM events
       WHERE position > ? AND position <= ?${partitionFilter(o.partition)} ORDER BY position LIMIT ?`,
    )
    .raw();
  // Rows of one build are written once each (a stream's row again, newer, after a read-back).
  const writeAudit = rowWriter(db, 'rm_audit_events', 'IGNORE');
  const writeReceipt = rowWriter(db, 'rm_purge_receipts', 'IGNORE');
  const writeConfirmation = rowWriter(db, 'rm_confirmations', 'IGNORE');
  const writeIntegration = rowWriter(db, 'rm_integration_events', 'IGNORE');
  const writeSubscription = rowWriter(db, 'rm_subscriptions', 'REPLACE');
  const writeAccount = rowWriter(db, 'rm_accounts', 'REPLACE');
  const selectSubscription = db.prepare(
    'SELECT state, revision, registered_position FROM rm_subscriptions WHERE subscription_id = ?',
  );
  const selectAccount = db.prepare(
    'SELECT revision, position, legal_hold, hold_id, last_erased_at FROM rm_accounts WHERE account_id = ?',
  );

  // Least recently used first (Map order): an entry moves to the end when touched.
  const subscriptions = new Map<string, SubscriptionFold>();
  const accounts = new Map<string, AccountFold>();
  // Ids whose entry left the cache: a row may exist to read back.
  const evictedSubscriptions = new EvictedIds(o.maxEvictedIds ?? MAX_EVICTED_IDS);
  const evictedAccounts = new EvictedIds(o.maxEvictedIds ?? MAX_EVICTED_IDS);

  const saveSubscription = (id: string, fold: SubscriptionFold): void => {
    if (!fold.changed) return;
    const row = subscriptionRow(id, fold, Number);
    fold.changed = false;
    if (!row) return; // events before registration (none in a valid log) leave no row to show
    writeSubscription(row);
    result.subscriptionRows++;
  };
  const saveAccount = (id: string, fold: AccountFold): void => {
    if (!fold.changed) return;
    writeAccount(accountRow(id, fold, Number));
    fold.changed = false;
    result.accountRows++;
  };

  let lastSubscription: { id: string; fold: SubscriptionFold } | null = null;
  const subscriptionFold = (id: string): SubscriptionFold => {
    // A stream's events often come one after the other: the entry is already the newest.
    if (lastSubscription?.id === id) return lastSubscription.fold;
    let fold = subscriptions.get(id);
    if (fold) subscriptions.delete(id);
    else {
      const row = evictedSubscriptions.take(id)
        ? (selectSubscription.get(id) as
            Pick<SubscriptionsTable, 'state' | 'revision' | 'registered_position'> | undefined)
        : undefined;
      if (row) result.reloads++;
      fold = row ? subscriptionFoldOfRow(row) : emptySubscriptionFold();
    }
    subscriptions.set(id, fold);
    lastSubscription = { id, fold };
    return fold;
  };
  const accountFold = (id: string): AccountFold => {
    let fold = accounts.get(id);
    if (fold) accounts.delete(id);
    else {
      const row = evictedAccounts.take(id)
        ? (selectAccount.get(id) as
            | Pick<
                AccountsTable,
                'revision' | 'position' | 'legal_hold' | 'hold_id' | 'last_erased_at'
              >
            | undefined)
        : undefined;
      if (row) result.reloads++;
      fold = row ? accountFoldOfRow(row) : emptyAccountFold();
    }
    accounts.set(id, fold);
    return fold;
  };
  const evict = (): void => {
    lastSubscription = null;
    for (const [id, fold] of subscriptions) {
      if (subscriptions.size <= maxCached) break;
      saveSubscription(id, fold);
      subscriptions.delete(id);
      evictedSubscriptions.add(id);
    }
    for (const [id, fold] of accounts) {
      if (accounts.size <= maxCached) break;
      saveAccount(id, fold);
      accounts.delete(id);
      evictedAccounts.add(id);
    }
  };

  const upcast = hooks.upcast;
  const applyPage = db.transaction((from: number): number => {
    let last = -1;
    for (const row of read.iterate(from, until, pageSize) as IterableIterator<LogRow>) {
      const [position, streamId] = row;
      last = position;
      result.events++;
      const stored = storedEvent(row);
      writeAudit(auditRow(stored, o.scrubs, Number));
      const e = upcast ? upcast(stored) : stored;
      // Partitions are chosen by the stored stream id: an upcaster that moves an event to
      // another stream could split that stream between threads (one thread folds it right).
      if (e.streamId !== streamId && o.partition.count > 1)
        throw new BulkBuildUnsupportedError(
          `event at position ${position}: an upcaster moved it from ${streamId} to another stream`,
        );
      const stream = projectedStream(e.streamId);
      if (stream?.kind === 'subscription') {
        const side = foldSubscriptionEvent(subscriptionFold(stream.id), e, Number);
        if (side?.confirmation) writeConfirmation(side.confirmation);
        if (side?.receipt) writeReceipt(side.receipt);
        if (side?.integration) writeIntegration(side.integration);
      } else if (stream?.kind === 'account') {
        const side = foldAccountEvent(accountFold(stream.id), e, stream.id, Number);
        if (side?.integration) writeIntegration(side.integration);
      }
    }
    evict();
    return last;
  });

  let after = 0;
  let position: number | null = null;
  while (after < until) {
    hooks.beforePage?.();
    const last = applyPage(after);
    if (last < 0) break;
    after = last;
    position = last;
    hooks.onPage?.(result.events, after);
    // Let the thread answer its other work (HTTP, timers, messages) between pages.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  db.transaction(() => {
    for (const [id, fold] of subscriptions) saveSubscription(id, fold);
    for (const [id, fold] of accounts) saveAccount(id, fold);
  })();
  return position;
}

/** A partition folded in a worker thread. */
export interface FoldThread extends BulkThread<FoldPartitionResult> {
  /** Events folded and the position reached so far. */
  events(): number;
  position(): number;
}

export function startFoldThread(
  options: FoldPartitionOptions,
  upcasters: UpcasterModule | undefined,
): FoldThread {
  const thread = startBulkThread<FoldPartitionResult>('fold thread', {
    job: 'fold',
    options,
    upcasters: upcasters ?? null,
  });
  return {
    ...thread,
    events: () => thread.progress().events,
    // Every row of the partition up to `until` is folded once the thread is done.
    position: () => (thread.finished() ? options.until : thread.progress().position),
  };
}
