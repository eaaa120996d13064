import { rmSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  ACCOUNT_EVENT_TYPES,
  type AccountEvent,
  type AccountState,
  accountDecider,
  cancellationConfirmation,
  type CancellationRequested,
  isRegistered,
  listingEntry,
  normalizeInstant,
  type ProductDataPurged,
  SUBSCRIPTION_EVENT_TYPES,
  type SubscriptionEvent,
  type SubscriptionState,
  subscriptionDecider,
} from '@app/domain';
import type { EventMetadata, RecordedEvent } from '@app/event-store';
// Types only: each fold thread loads this module, and loading @app/read-models as well (Kysely,
// NestJS, the drivers) held a thread's first page back by about 0.7 s of a 7 s build.
import type { Upcast } from '@app/read-models';
import { type BulkThread, startBulkThread } from './bulk-thread';
import { journalInMemory } from './sqlite-bulk-pragmas';

/**
 * The fold of the replay's bulk build (read-model-bulk-build.ts): the streams of one partition
 * of the log folded in memory into the rows `ReadModelProjection` writes for subscriptions,
 * accounts, purge receipts and confirmations, written to a scratch file of the shadow's schema.
 *
 * Streams are independent, so the log is split into partitions by stream id (a sum of the
 * stream id's last characters, in SQL: each thread is handed only its own rows) and each
 * partition is folded in its own thread: the fold is most of a replay's work, and one thread
 * left the second core of a 2-core machine idle once the audit copy had finished.
 *
 * Within a partition, streams are folded in memory across pages; a subscription or account row
 * is written once, when its entry leaves the cache (least recently used, `maxCachedStreams`) or
 * at the end, and read back if a later event of it comes (what the projection does between two
 * batches), so memory stays bounded whatever the size of the log.
 */

/** The log holds JSON text the SQLite store did not write: use the live projection instead. */
export class BulkBuildUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BulkBuildUnsupportedError';
  }
}

/** A module exporting an array of upcasters, loaded by each fold thread (functions do not cross). */
export interface UpcasterModule {
  /** Absolute path of the module (TypeScript from sources, JavaScript from a build). */
  file: string;
  /** Name of the export: `readonly Upcaster[]`. */
  name: string;
}

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

const SUBSCRIPTION_TYPES = new Set<string>(SUBSCRIPTION_EVENT_TYPES);
const ACCOUNT_TYPES = new Set<string>(ACCOUNT_EVENT_TYPES);
const SUBSCRIPTION_STREAM = 'subscription-';
const ACCOUNT_STREAM = 'account-';
/** Every n-th event's data is checked to be the text JSON.stringify gives back. */
const CANONICAL_SAMPLE = 251;
/** Characters at the end of a stream id summed to pick its partition (ids differ there). */
const PARTITION_CHARS = 8;

/** better-sqlite3 refuses undefined; Kysely leaves such a column out (NULL). */
const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

/** [position, stream_id, revision, type, data, event_id, metadata] */
type LogRow = [number, string, number, string, string, string, string];

/** An event's metadata: as stored (JSON text, parsed when needed) or as an upcaster made it. */
type Metadata = string | EventMetadata;
const metadataOf = (m: Metadata): EventMetadata =>
  typeof m === 'string' ? (JSON.parse(m) as EventMetadata) : m;

interface SubscriptionEntry {
  state: SubscriptionState;
  revision: number;
  registeredPosition: number | null;
  changed: boolean;
  lastPosition: number | null;
  /** The last event's metadata (its recordedAt is the row's updated_at). */
  lastMetadata: Metadata | null;
}

interface AccountEntry {
  state: AccountState;
  revision: number;
  position: number;
  changed: boolean;
}

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
      `SELECT position, stream_id, revision, type, data, event_id, metadata FROM events
       WHERE position > ? AND position <= ?${partitionFilter(o.partition)} ORDER BY position LIMIT ?`,
    )
    .raw();
  const insertReceipt = db.prepare(
    `INSERT INTO rm_purge_receipts (position, event_id, purge_id, subscription_id, account_id,
      product_id, expires_at, purge_at, purged_at, receipt, command_id, correlation_id,
      causation_id, actor_id, actor_role, channel)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING`,
  );
  const insertConfirmation = db.prepare(
    `INSERT INTO rm_confirmations (event_id, position, account_id, subscription_id, product_id,
      subject, body, recorded_at, status, attempts, next_attempt_at, delivered_at, last_error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, NULL, NULL, NULL)
     ON CONFLICT (event_id) DO NOTHING`,
  );
  const upsertSubscription = db.prepare(
    `INSERT INTO rm_subscriptions (subscription_id, account_id, product_id, status, section,
      contract, revision, position, registered_position, expires_at, purge_at, purged_at, state,
      updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (subscription_id) DO UPDATE SET account_id = excluded.account_id,
      product_id = excluded.product_id, status = excluded.status, section = excluded.section,
      contract = excluded.contract, revision = excluded.revision, position = excluded.position,
      expires_at = excluded.expires_at, purge_at = excluded.purge_at,
      purged_at = excluded.purged_at, state = excluded.state, updated_at = excluded.updated_at
     WHERE rm_subscriptions.revision < excluded.revision`,
  );
  const selectSubscription = db.prepare(
    'SELECT state, revision, registered_position FROM rm_subscriptions WHERE subscription_id = ?',
  );
  const upsertAccount = db.prepare(
    `INSERT INTO rm_accounts (account_id, revision, position, legal_hold, hold_id, last_erased_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (account_id) DO UPDATE SET revision = excluded.revision,
      position = excluded.position, legal_hold = excluded.legal_hold,
      hold_id = excluded.hold_id, last_erased_at = excluded.last_erased_at
     WHERE rm_accounts.revision < excluded.revision`,
  );
  const selectAccount = db.prepare(
    'SELECT revision, position, legal_hold, hold_id, last_erased_at FROM rm_accounts WHERE account_id = ?',
  );

  // Least recently used first (Map order): an entry moves to the end when touched.
  const subscriptions = new Map<string, SubscriptionEntry>();
  const accounts = new Map<string, AccountEntry>();
  // Ids whose entry left the cache: a row may exist to read back.
  const evictedSubscriptions = new EvictedIds(o.maxEvictedIds ?? MAX_EVICTED_IDS);
  const evictedAccounts = new EvictedIds(o.maxEvictedIds ?? MAX_EVICTED_IDS);
  const instant = memoizedInstant();

  const saveSubscription = (id: string, e: SubscriptionEntry): void => {
    if (!e.changed || e.lastPosition === null) return;
    const state = e.state;
    // Events before registration (none in a valid log) leave no row to show.
    if (!isRegistered(state)) return;
    upsertSubscription.run(
      id,
      state.accountId,
      state.productId,
      state.status,
      listingEntry(state).section,
      state.contract ? 1 : 0,
      e.revision,
      e.lastPosition,
      e.registeredPosition ?? e.lastPosition,
      orNull(state.expiresAt),
      'purgeAt' in state ? orNull(state.purgeAt) : null,
      state.status === 'purged' ? orNull(state.purgedAt) : null,
      JSON.stringify(state),
      instant(e.lastMetadata === null ? undefined : metadataOf(e.lastMetadata).recordedAt),
    );
    e.changed = false;
    result.subscriptionRows++;
  };
  const saveAccount = (id: string, e: AccountEntry): void => {
    if (!e.changed) return;
    upsertAccount.run(
      id,
      e.revision,
      e.position,
      e.state.legalHold ? 1 : 0,
      e.state.legalHold?.holdId ?? null,
      orNull(e.state.lastErasedAt),
    );
    e.changed = false;
    result.accountRows++;
  };

  let lastSubscription: { id: string; entry: SubscriptionEntry } | null = null;
  const subscriptionEntry = (id: string): SubscriptionEntry => {
    // A stream's events often come one after the other: the entry is already the newest.
    if (lastSubscription?.id === id) return lastSubscription.entry;
    let e = subscriptions.get(id);
    if (e) {
      subscriptions.delete(id);
      subscriptions.set(id, e);
      lastSubscription = { id, entry: e };
      return e;
    }
    e = {
      state: subscriptionDecider.initialState(),
      revision: -1,
      registeredPosition: null,
      changed: false,
      lastPosition: null,
      lastMetadata: null,
    };
    if (evictedSubscriptions.take(id)) {
      const row = selectSubscription.get(id) as
        { state: string; revision: number; registered_position: number } | undefined;
      if (row) {
        e.state = JSON.parse(row.state) as SubscriptionState;
        e.revision = row.revision;
        e.registeredPosition = row.registered_position;
        result.reloads++;
      }
    }
    subscriptions.set(id, e);
    lastSubscription = { id, entry: e };
    return e;
  };
  const accountEntry = (id: string): AccountEntry => {
    let e = accounts.get(id);
    if (e) {
      accounts.delete(id);
      accounts.set(id, e);
      return e;
    }
    e = { state: accountDecider.initialState(), revision: -1, position: 0, changed: false };
    if (evictedAccounts.take(id)) {
      const row = selectAccount.get(id) as
        | {
            revision: number;
            position: number;
            legal_hold: number;
            hold_id: string | null;
            last_erased_at: string | null;
          }
        | undefined;
      if (row) {
        // As the projection reads an account row back (the hold's placedAt is not kept).
        e.state = {
          legalHold: row.legal_hold && row.hold_id ? { holdId: row.hold_id, placedAt: '' } : null,
          lastErasedAt: row.last_erased_at,
        };
        e.revision = row.revision;
        e.position = row.position;
        result.reloads++;
      }
    }
    accounts.set(id, e);
    return e;
  };
  const evict = (): void => {
    lastSubscription = null;
    for (const [id, e] of subscriptions) {
      if (subscriptions.size <= maxCached) break;
      saveSubscription(id, e);
      subscriptions.delete(id);
      evictedSubscriptions.add(id);
    }
    for (const [id, e] of accounts) {
      if (accounts.size <= maxCached) break;
      saveAccount(id, e);
      accounts.delete(id);
      evictedAccounts.add(id);
    }
  };

  const applySubscriptionEvent = (
    id: string,
    eventId: string,
    revision: number,
    position: number,
    type: string,
    data: Record<string, unknown>,
    metadata: Metadata,
  ): void => {
    const entry = subscriptionEntry(id);
    if (revision <= entry.revision) return; // delivered again: already applied
    const before = entry.state;
    entry.revision = revision;
    entry.lastPosition = position;
    entry.lastMetadata = metadata;
    entry.changed = true;
    if (!SUBSCRIPTION_TYPES.has(type)) return; // a type this code does not know yet
    entry.state = subscriptionDecider.evolve(before, {
      type,
      data,
    } as unknown as SubscriptionEvent);
    if (type === 'SubscriptionRegistered' && entry.registeredPosition === null)
      entry.registeredPosition = position;
    if (type === 'CancellationRequested' && isRegistered(entry.state)) {
      const c = cancellationConfirmation(entry.state, {
        type: 'CancellationRequested',
        data,
      } as unknown as CancellationRequested);
      if (c)
        insertConfirmation.run(
          eventId,
          position,
          c.accountId,
          c.subscriptionId,
          entry.state.productId,
          c.subject,
          c.body,
          instant(metadataOf(metadata).recordedAt),
        );
    }
    if (type === 'ProductDataPurged') {
      const d = data as unknown as ProductDataPurged['data'];
      const m = metadataOf(metadata);
      insertReceipt.run(
        position,
        eventId,
        String(d.receipt?.purgeId ?? ''),
        orNull(d.subscriptionId),
        orNull(d.accountId),
        orNull(d.productId),
        orNull(d.expiresAt),
        orNull(d.purgeAt),
        normalizeInstant(d.purgedAt),
        JSON.stringify(d.receipt ?? null),
        m.commandId ?? null,
        m.correlationId ?? '',
        m.causationId ?? null,
        m.actor?.actorId ?? null,
        m.actor?.role ?? null,
        m.channel ?? null,
      );
    }
  };
  const applyAccountEvent = (
    id: string,
    revision: number,
    position: number,
    type: string,
    data: Record<string, unknown>,
  ): void => {
    const entry = accountEntry(id);
    if (revision <= entry.revision) return;
    entry.revision = revision;
    entry.position = position;
    entry.changed = true;
    if (ACCOUNT_TYPES.has(type))
      entry.state = accountDecider.evolve(entry.state, { type, data } as unknown as AccountEvent);
  };

  const upcast = hooks.upcast;
  const applyPage = db.transaction((from: number): number => {
    let last = -1;
    for (const row of read.iterate(from, until, pageSize) as IterableIterator<LogRow>) {
      const [position, streamId, revision, type, dataText, eventId, metadataText] = row;
      last = position;
      const data = JSON.parse(dataText) as Record<string, unknown>;
      if (result.events % CANONICAL_SAMPLE === 0 && JSON.stringify(data) !== dataText)
        throw new BulkBuildUnsupportedError(
          `event at position ${position}: its data is not the JSON text the SQLite store writes`,
        );
      result.events++;
      if (upcast) {
        let metadata: EventMetadata | undefined;
        // A plain object like the store's (upcasters may spread it); metadata parsed if read.
        const stored: RecordedEvent = {
          eventId,
          streamId,
          revision,
          position: BigInt(position),
          type,
          data,
          get metadata() {
            return (metadata ??= JSON.parse(metadataText) as EventMetadata);
          },
          // Upcasters may assign it, as they can on the store's plain objects.
          set metadata(value: EventMetadata) {
            metadata = value;
          },
        };
        const e = upcast(stored);
        // Partitions are chosen by the stored stream id: an upcaster that moves an event to
        // another stream could split that stream between threads (one thread folds it right).
        if (e.streamId !== streamId && o.partition.count > 1)
          throw new BulkBuildUnsupportedError(
            `event at position ${position}: an upcaster moved it from ${streamId} to another stream`,
          );
        // What the upcasters made of it (most often the stored event itself).
        const at = e === stored ? position : Number(e.position);
        const m = e === stored ? (metadata ?? metadataText) : e.metadata;
        if (e.streamId.startsWith(SUBSCRIPTION_STREAM))
          applySubscriptionEvent(
            e.streamId.slice(SUBSCRIPTION_STREAM.length),
            e.eventId,
            e.revision,
            at,
            e.type,
            e.data,
            m,
          );
        else if (e.streamId.startsWith(ACCOUNT_STREAM))
          applyAccountEvent(
            e.streamId.slice(ACCOUNT_STREAM.length),
            e.revision,
            at,
            e.type,
            e.data,
          );
        continue;
      }
      if (streamId.startsWith(SUBSCRIPTION_STREAM))
        applySubscriptionEvent(
          streamId.slice(SUBSCRIPTION_STREAM.length),
          eventId,
          revision,
          position,
          type,
          data,
          metadataText,
        );
      else if (streamId.startsWith(ACCOUNT_STREAM))
        applyAccountEvent(streamId.slice(ACCOUNT_STREAM.length), revision, position, type, data);
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
    for (const [id, e] of subscriptions) saveSubscription(id, e);
    for (const [id, e] of accounts) saveAccount(id, e);
  })();
  return position;
}

/** normalizeInstant with a bounded memo (many events share an instant). */
function memoizedInstant(): (v: unknown) => string {
  const memo = new Map<string, string>();
  return (v) => {
    if (typeof v !== 'string') return normalizeInstant(v);
    let n = memo.get(v);
    if (n === undefined) {
      if (memo.size >= 50_000) memo.clear();
      n = normalizeInstant(v);
      memo.set(v, n);
    }
    return n;
  };
}

/**
 * The fold thread's code (plain JavaScript, so that it runs the same from sources and from a
 * build): loads this module (through the SWC hook from sources), the upcasters, folds, reports.
 */
const FOLD_WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
if (w.hook) require(w.hook);
const { foldPartition } = require(w.module);
let upcast;
if (w.upcasters) {
  const list = require(w.upcasters.file)[w.upcasters.name];
  // An empty list: no upcasting step at all (as loadUpcasters does on the calling thread).
  if (list.length > 0) upcast = (e) => list.reduce((x, up) => up(x), e);
}
foldPartition(w.options, {
  upcast,
  onPage: (events, position) => parentPort.postMessage({ events, position }),
}).then(
  (result) => parentPort.postMessage({ result }),
  (error) => parentPort.postMessage({ error: { name: error.name, message: error.message, stack: error.stack } }),
);
`;

/** A partition folded in a worker thread. */
export interface FoldThread extends BulkThread<FoldPartitionResult> {
  /** Events folded and the position reached so far. */
  events(): number;
  position(): number;
}

/** This module's file and, from TypeScript sources, the hook that compiles it in a new thread. */
function moduleToLoad(): { module: string; hook: string | null } {
  if (extname(__filename) !== '.ts') return { module: __filename, hook: null };
  return {
    module: __filename,
    hook: resolve(__dirname, '..', '..', '..', 'test', 'support', 'swc-register.js'),
  };
}

export function startFoldThread(
  options: FoldPartitionOptions,
  upcasters: UpcasterModule | undefined,
): FoldThread {
  let events = 0;
  let position = 0;
  const thread = startBulkThread<FoldPartitionResult>(
    'fold thread',
    FOLD_WORKER,
    { ...moduleToLoad(), options, upcasters: upcasters ?? null },
    (message) => {
      const m = message as {
        events?: number;
        position?: number;
        result?: FoldPartitionResult;
        error?: { name: string; message: string; stack?: string };
      };
      if (m.error) {
        const failure =
          m.error.name === 'BulkBuildUnsupportedError'
            ? new BulkBuildUnsupportedError(m.error.message)
            : Object.assign(new Error(m.error.message), { name: m.error.name });
        if (m.error.stack) failure.stack = m.error.stack;
        throw failure;
      }
      if (m.events !== undefined) events = m.events;
      if (m.position !== undefined) position = m.position;
      if (!m.result) return undefined;
      // Every row of the partition up to `until` is folded.
      position = options.until;
      return m.result;
    },
  );
  return { ...thread, events: () => events, position: () => position };
}
