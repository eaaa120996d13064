import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
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
  type ProductDataPurged,
  SUBSCRIPTION_EVENT_TYPES,
  type SubscriptionEvent,
  type SubscriptionState,
  subscriptionDecider,
} from '@app/domain';
import type { EventMetadata, RecordedEvent } from '@app/event-store';
import {
  holdsEncryptedFields,
  normalizeInstant,
  READ_MODELS_PROJECTION,
  scrubEncryptedFields,
  type Upcast,
} from '@app/read-models';

/**
 * Bulk build of the read models into an empty SQLite shadow file, straight from the SQLite event
 * log: the fast path of a full replay (`replayReadModels`).
 *
 * It writes the rows `ReadModelProjection` writes, byte for byte (the replay tests compare
 * checksums), with the same domain code (`evolve`, `listingEntry`, `cancellationConfirmation`),
 * the same helpers (`normalizeInstant`, `holdsEncryptedFields`, `scrubEncryptedFields`) and the
 * same upcasters before the fold. What differs is how, in two threads:
 *
 * - **Audit rows** (one per event, most of the bytes) are copied by SQLite itself in a worker
 *   thread: one `INSERT … SELECT` per range of positions from the attached log into the shadow,
 *   the columns taken with SQLite's JSON functions. `data` is the stored JSON text: the SQLite
 *   store writes `JSON.stringify(data)`, and `JSON.stringify(JSON.parse(s)) === s` for any text
 *   `JSON.stringify` produced, which is what the projection writes (a sample is checked; a log
 *   holding other JSON text ends the build with `BulkBuildUnsupportedError` and the caller falls
 *   back to the live projection). A row SQL cannot settle exactly as the projection does (a
 *   `recordedAt` not in canonical ISO form, an event to store scrubbed) is marked and rewritten
 *   afterwards by the projection's own logic.
 * - **Folded rows** (subscriptions, accounts, purge receipts, confirmations) are built on this
 *   thread from raw pages of the log: streams are folded in memory across pages; a subscription
 *   or account row is written once, when its entry leaves the cache (least recently used,
 *   `maxCachedStreams`) or at the end, and read back if a later event of it comes (what the
 *   projection does between two batches), so memory stays bounded whatever the size of the log.
 *   They go to a scratch file of the same schema, copied into the shadow at the end.
 *
 * Both write without journal or fsync (a shadow lost to a crash is simply built again) and
 * without secondary indexes (the caller makes those it needs).
 */
export interface BulkBuildOptions {
  /** The SQLite event log. */
  logFile: string;
  /** The shadow read-models file: migrated, every rebuilt table empty, rm_scrubs filled. */
  shadowFile: string;
  /** Build up to this position (included); later events are the caller's top-up. */
  until: bigint;
  upcast?: Upcast | undefined;
  /** Events per page of the fold (read, fold, one write transaction). Default 8192. */
  pageSize?: number;
  /**
   * Subscription and account entries kept in memory between pages (default 20,000): enough for
   * the events a stream gets close together; rows of streams seen again later are read back.
   */
  maxCachedStreams?: number;
  /** Progress: events folded and position reached by both threads; then the event loop gets a turn. */
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
  /** Audit rows rewritten by the projection's logic after the SQL copy. */
  auditFixups: number;
}

/** The log holds JSON text the SQLite store did not write: use the live projection instead. */
export class BulkBuildUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BulkBuildUnsupportedError';
  }
}

const SUBSCRIPTION_TYPES = new Set<string>(SUBSCRIPTION_EVENT_TYPES);
const ACCOUNT_TYPES = new Set<string>(ACCOUNT_EVENT_TYPES);
const SUBSCRIPTION_STREAM = 'subscription-';
const ACCOUNT_STREAM = 'account-';
/** Every n-th event's data is checked to be the text JSON.stringify gives back. */
const CANONICAL_SAMPLE = 251;
/** The tables folded on this thread (copied into the shadow at the end). */
const FOLDED_TABLES = ['rm_subscriptions', 'rm_accounts', 'rm_purge_receipts', 'rm_confirmations'];
/** `scrubbed` value of an audit row the SQL copy left for the projection's logic. */
const FIXUP = 2;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
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

export async function bulkBuildReadModels(o: BulkBuildOptions): Promise<BulkBuildResult> {
  const pageSize = o.pageSize ?? 8192;
  const maxCached = o.maxCachedStreams ?? 20_000;
  const until = Number(o.until);
  const foldFile = `${o.shadowFile}.fold`;
  const result: BulkBuildResult = {
    events: 0,
    position: null,
    subscriptionRows: 0,
    accountRows: 0,
    reloads: 0,
    auditFixups: 0,
  };
  const log = new Database(o.logFile, { readonly: true, fileMustExist: true });
  let fold: Database.Database | null = null;
  let audit: AuditCopy | null = null;
  try {
    // Read once, in order: the OS cache does the rest.
    log.pragma('cache_size = -8192');
    fold = openScratch(o.shadowFile, foldFile);
    audit = startAuditCopy(o.logFile, o.shadowFile, until);
    const folded = await foldLog(o, log, fold, until, pageSize, maxCached, result, audit);
    const fixups = await audit.done;
    fold.close();
    fold = null;
    result.auditFixups = finish(o, log, foldFile, fixups, folded);
    result.position = folded === null ? null : BigInt(folded);
    return result;
  } finally {
    await audit?.stop();
    fold?.close();
    log.close();
    rmSync(foldFile, { force: true });
  }
}

/** The scratch file of the folded tables: the shadow's own definitions, no journal. */
function openScratch(shadowFile: string, file: string): Database.Database {
  const shadow = new Database(shadowFile, { readonly: true, fileMustExist: true });
  let ddl: string[];
  try {
    ddl = (
      shadow
        .prepare(
          `SELECT sql FROM sqlite_master WHERE type = 'table' AND name IN (${FOLDED_TABLES.map(() => '?').join(', ')})`,
        )
        .pluck()
        .all(...FOLDED_TABLES) as string[]
    ).filter(Boolean);
  } finally {
    shadow.close();
  }
  rmSync(file, { force: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = OFF');
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

/** Folds the log into the scratch file; returns the last position folded. */
async function foldLog(
  o: BulkBuildOptions,
  log: Database.Database,
  db: Database.Database,
  until: number,
  pageSize: number,
  maxCached: number,
  result: BulkBuildResult,
  audit: AuditCopy,
): Promise<number | null> {
  const read = log
    .prepare(
      `SELECT position, stream_id, revision, type, data, event_id, metadata FROM events
       WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`,
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
  const evictedSubscriptions = new Set<string>();
  const evictedAccounts = new Set<string>();
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
    if (evictedSubscriptions.delete(id)) {
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
    if (evictedAccounts.delete(id)) {
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

  const upcast = o.upcast;
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
    audit.check();
    const last = applyPage(after);
    if (last < 0) break;
    after = last;
    position = last;
    o.onPage?.(result.events, BigInt(Math.min(after, audit.position())));
    // Let the process answer its other work (HTTP, timers) between pages.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  db.transaction(() => {
    for (const [id, e] of subscriptions) saveSubscription(id, e);
    for (const [id, e] of accounts) saveAccount(id, e);
  })();
  return position;
}

/**
 * Copies the folded tables into the shadow, rewrites the audit rows the SQL copy marked, and
 * writes the checkpoint. Returns the number of audit rows rewritten.
 */
function finish(
  o: BulkBuildOptions,
  log: Database.Database,
  foldFile: string,
  fixups: readonly number[],
  position: number | null,
): number {
  const db = new Database(o.shadowFile, { fileMustExist: true });
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -16384');
    db.prepare('ATTACH DATABASE ? AS fold').run(foldFile);
    const scrubbed = { subscriptions: new Set<string>(), accounts: new Set<string>() };
    for (const r of db.prepare('SELECT scope, id FROM main.rm_scrubs').all() as {
      scope: string;
      id: string;
    }[]) {
      if (r.scope === 'subscription') scrubbed.subscriptions.add(r.id);
      else if (r.scope === 'account') scrubbed.accounts.add(r.id);
    }
    const readEvent = log
      .prepare(
        'SELECT position, event_id, stream_id, revision, type, data, metadata FROM events WHERE position = ?',
      )
      .raw();
    const rewrite = db.prepare(
      `UPDATE main.rm_audit_events SET event_id = ?, stream_id = ?, revision = ?, type = ?,
        recorded_at = ?, subscription_id = ?, account_id = ?, actor_id = ?, actor_role = ?,
        channel = ?, correlation_id = ?, causation_id = ?, data = ?, personal = ?, scrubbed = ?
       WHERE position = ?`,
    );
    db.transaction(() => {
      for (const table of FOLDED_TABLES)
        db.exec(`INSERT INTO main.${table} SELECT * FROM fold.${table}`);
      for (const p of fixups) {
        const [position, eventId, streamId, revision, type, data, metadata] = readEvent.get(p) as [
          number,
          string,
          string,
          number,
          string,
          string,
          string,
        ];
        const r = auditRow(
          { position, eventId, streamId, revision, type, data, metadata },
          scrubbed,
        );
        rewrite.run(
          r.event_id,
          r.stream_id,
          r.revision,
          r.type,
          r.recorded_at,
          r.subscription_id,
          r.account_id,
          r.actor_id,
          r.actor_role,
          r.channel,
          r.correlation_id,
          r.causation_id,
          r.data,
          r.personal,
          r.scrubbed,
          position,
        );
      }
      if (position !== null)
        db.prepare(
          `INSERT INTO main.rm_checkpoints (name, position, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET position = excluded.position,
            updated_at = excluded.updated_at WHERE rm_checkpoints.position < excluded.position`,
        ).run(READ_MODELS_PROJECTION, position, new Date().toISOString());
    })();
    db.exec('DETACH DATABASE fold');
    return fixups.length;
  } finally {
    db.close();
  }
}

/** `ReadModelProjection`'s audit row of a stored event (the rows the SQL copy leaves to it). */
function auditRow(
  e: {
    position: number;
    eventId: string;
    streamId: string;
    revision: number;
    type: string;
    data: string;
    metadata: string;
  },
  scrubbed: { subscriptions: Set<string>; accounts: Set<string> },
) {
  const parsed = JSON.parse(e.data) as Record<string, unknown>;
  const metadata = JSON.parse(e.metadata) as EventMetadata;
  const subscriptionId =
    str(parsed['subscriptionId']) ??
    (e.streamId.startsWith(SUBSCRIPTION_STREAM)
      ? e.streamId.slice(SUBSCRIPTION_STREAM.length)
      : null);
  const accountId =
    str(parsed['accountId']) ??
    (e.streamId.startsWith(ACCOUNT_STREAM) ? e.streamId.slice(ACCOUNT_STREAM.length) : null);
  let data = JSON.stringify(parsed);
  let personal = holdsEncryptedFields(data);
  let isScrubbed = 0;
  if (
    personal &&
    ((subscriptionId && scrubbed.subscriptions.has(subscriptionId)) ||
      (accountId && scrubbed.accounts.has(accountId)))
  ) {
    data = JSON.stringify(scrubEncryptedFields(parsed).data);
    personal = false;
    isScrubbed = 1;
  }
  const actor = metadata.actor;
  return {
    event_id: e.eventId,
    stream_id: e.streamId,
    revision: e.revision,
    type: e.type,
    recorded_at: normalizeInstant(metadata.recordedAt),
    subscription_id: subscriptionId,
    account_id: accountId,
    actor_id: actor?.actorId ?? null,
    actor_role: actor?.role ?? null,
    channel: metadata.channel ?? null,
    correlation_id: metadata.correlationId ?? '',
    causation_id: metadata.causationId ?? null,
    data,
    personal: personal ? 1 : 0,
    scrubbed: isScrubbed,
  };
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
 * The audit rows' SQL: every column as `ReadModelProjection.auditRow` computes it:
 * - recorded_at: a string as stored when it is in canonical `toISOString()` form (the GLOB and
 *   the ranges prove `normalizeInstant` returns it unchanged; days 29 to 31 are checked by a
 *   round trip through strftime), '' for a number or null; any other string is marked;
 * - subscription_id / account_id: the data's string field, else the id in the stream name;
 * - actor, channel, correlation and causation ids: the JSON values (a string, or null when
 *   missing; the projection cannot store an object or a boolean there either);
 * - personal: the data holds "$pd"; a personal row of a scrubbed subscription or account is
 *   marked too.
 * A marked row (scrubbed = FIXUP) is rewritten by `auditRow`, the projection's logic.
 */
const AUDIT_SQL = `
INSERT INTO main.rm_audit_events (position, event_id, stream_id, revision, type, recorded_at,
  subscription_id, account_id, actor_id, actor_role, channel, correlation_id, causation_id, data,
  personal, scrubbed)
SELECT position, event_id, stream_id, revision, type, CASE WHEN typeof(r) = 'text' THEN r ELSE '' END,
  sub, acc, actor_id, actor_role, channel, coalesce(corr, ''), caus, data, personal,
  CASE WHEN (typeof(r) = 'text' AND NOT (
              r GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9].[0-9][0-9][0-9]Z'
              AND substr(r, 6, 2) BETWEEN '01' AND '12' AND substr(r, 12, 2) <= '23'
              AND (substr(r, 9, 2) BETWEEN '01' AND '28'
                   OR strftime('%Y-%m-%dT%H:%M:%fZ', r) IS r)))
         OR (personal AND (sub IN (SELECT id FROM main.rm_scrubs WHERE scope = 'subscription')
                           OR acc IN (SELECT id FROM main.rm_scrubs WHERE scope = 'account')))
       THEN ${FIXUP} ELSE 0 END
FROM (
  SELECT position, event_id, stream_id, revision, type, data,
    CASE WHEN json_type(metadata, '$.recordedAt') = 'text'
         THEN json_extract(metadata, '$.recordedAt') END AS r,
    CASE WHEN json_type(data, '$.subscriptionId') = 'text' THEN json_extract(data, '$.subscriptionId')
         WHEN substr(stream_id, 1, 13) = '${SUBSCRIPTION_STREAM}' THEN substr(stream_id, 14) END AS sub,
    CASE WHEN json_type(data, '$.accountId') = 'text' THEN json_extract(data, '$.accountId')
         WHEN substr(stream_id, 1, 8) = '${ACCOUNT_STREAM}' THEN substr(stream_id, 9) END AS acc,
    json_extract(metadata, '$.actor.actorId') AS actor_id,
    json_extract(metadata, '$.actor.role') AS actor_role,
    json_extract(metadata, '$.channel') AS channel,
    json_extract(metadata, '$.correlationId') AS corr,
    json_extract(metadata, '$.causationId') AS caus,
    instr(data, '"$pd"') > 0 AS personal
  FROM log.events WHERE position > ? AND position <= ? ORDER BY position
)`;

/**
 * The worker's code (plain JavaScript, so that it runs the same from sources and from a build):
 * copies the audit rows range by range and reports the positions done, then the marked rows.
 */
const AUDIT_WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
const Database = require(w.driver);
const db = new Database(w.shadowFile, { fileMustExist: true });
try {
  // Set before the log is attached: they apply to the shadow only.
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -16384');
  db.pragma('temp_store = MEMORY');
  db.prepare('ATTACH DATABASE ? AS log').run(w.logFile);
  db.exec('CREATE INDEX main.bulk_audit_fixup ON rm_audit_events (position) WHERE scrubbed = ${FIXUP}');
  const copy = db.prepare(w.sql);
  for (let from = 0; from < w.until; from += w.chunk) {
    const to = Math.min(from + w.chunk, w.until);
    db.exec('BEGIN');
    copy.run(from, to);
    db.exec('COMMIT');
    parentPort.postMessage({ position: to });
  }
  const fixups = db.prepare('SELECT position FROM main.rm_audit_events WHERE scrubbed = ${FIXUP}').pluck().all();
  db.exec('DROP INDEX main.bulk_audit_fixup');
  db.exec('DETACH DATABASE log');
  parentPort.postMessage({ fixups });
} finally {
  db.close();
}
`;

interface AuditCopy {
  /** Positions of the rows left to `auditRow`, once every row is copied. */
  done: Promise<number[]>;
  /** Position every audit row is copied up to. */
  position(): number;
  /** Throws the worker's error, if it failed. */
  check(): void;
  stop(): Promise<void>;
}

function startAuditCopy(logFile: string, shadowFile: string, until: number): AuditCopy {
  const worker = new Worker(AUDIT_WORKER, {
    eval: true,
    workerData: {
      driver: require.resolve('better-sqlite3'),
      logFile,
      shadowFile,
      until,
      sql: AUDIT_SQL,
      chunk: 65_536,
    },
  });
  let position = 0;
  let failure: Error | null = null;
  let fixups: number[] | null = null;
  let exited = false;
  // Settled once the worker has exited (its connection closed), not at its last message.
  const done = new Promise<number[]>((resolve, reject) => {
    worker.on('message', (m: { position?: number; fixups?: number[] }) => {
      if (m.position !== undefined) position = m.position;
      if (m.fixups) fixups = m.fixups;
    });
    worker.on('error', (error) => {
      failure = error;
    });
    worker.on('exit', (code) => {
      exited = true;
      if (fixups && code === 0 && !failure) return resolve(fixups);
      failure ??= new Error(`audit copy stopped (exit code ${code})`);
      reject(failure);
    });
  });
  // Observed through check() and done; never an unhandled rejection.
  done.catch(() => undefined);
  return {
    done,
    position: () => position,
    check() {
      if (failure) throw failure;
    },
    async stop() {
      if (!exited) await worker.terminate();
    },
  };
}
