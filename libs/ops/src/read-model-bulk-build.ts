import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { normalizeInstant } from '@app/domain';
import { composeUpcasters, type EventMetadata, type Upcaster } from '@app/event-store';
import { cpuBudget } from '@app/platform';
import {
  holdsEncryptedFields,
  READ_MODELS_PROJECTION,
  scrubEncryptedFields,
  type Upcast,
} from '@app/read-models';
import {
  type FoldPartitionOptions,
  type FoldPartitionResult,
  foldPartition,
  startFoldThread,
  type FoldThread,
  type UpcasterModule,
} from './read-model-bulk-fold';
import { type BulkThread, startBulkThread } from './bulk-thread';
import { journalInMemory } from './sqlite-bulk-pragmas';

export { BulkBuildUnsupportedError, type UpcasterModule } from './read-model-bulk-fold';

/**
 * Bulk build of the read models into an empty SQLite shadow file, straight from the SQLite event
 * log: the fast path of a full replay (`replayReadModels`).
 *
 * It writes the rows `ReadModelProjection` writes, byte for byte (the replay tests compare
 * checksums), with the same domain code (`evolve`, `listingEntry`, `cancellationConfirmation`),
 * the same helpers (`normalizeInstant`, `holdsEncryptedFields`, `scrubEncryptedFields`) and the
 * same upcasters before the fold. What differs is how, in parallel threads:
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
 * - **Folded rows** (subscriptions, accounts, purge receipts, confirmations) are built from raw
 *   pages of the log by `foldPartition` (read-model-bulk-fold.ts): the streams split into
 *   partitions, one on this thread and the others in worker threads, each into a scratch file
 *   of the same schema; the scratch files are copied into the shadow at the end.
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
  /** Audit rows rewritten by the projection's logic after the SQL copy. */
  auditFixups: number;
  /** Threads that folded streams. */
  foldThreads: number;
}

const SUBSCRIPTION_STREAM = 'subscription-';
const ACCOUNT_STREAM = 'account-';
/** The tables folded by the fold threads (copied into the shadow at the end). */
const FOLDED_TABLES = ['rm_subscriptions', 'rm_accounts', 'rm_purge_receipts', 'rm_confirmations'];
/** `scrubbed` value of an audit row the SQL copy left for the projection's logic. */
const FIXUP = 2;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export async function bulkBuildReadModels(o: BulkBuildOptions): Promise<BulkBuildResult> {
  const until = Number(o.until);
  const threads =
    o.upcast && !o.upcasterModule
      ? 1
      : Math.max(1, Math.trunc(o.foldThreads ?? Math.min(2, cpuBudget())));
  const partition = (index: number): FoldPartitionOptions => ({
    logFile: o.logFile,
    scratchFile: `${o.shadowFile}.fold${index}`,
    ddl,
    until,
    pageSize: o.pageSize ?? 8192,
    maxCachedStreams: o.maxCachedStreams ?? 20_000,
    maxEvictedIds: o.maxEvictedIds,
    partition: { index, count: threads },
  });
  const ddl = foldedTableDdl(o.shadowFile);
  const scratchFiles = Array.from({ length: threads }, (_, i) => partition(i).scratchFile);
  let audit: AuditCopy | null = null;
  const others: FoldThread[] = [];
  try {
    audit = startAuditCopy(o.logFile, o.shadowFile, until);
    for (let i = 1; i < threads; i++) others.push(startFoldThread(partition(i), o.upcasterModule));
    const copy = audit;
    const report = (own: { events: number; position: number }) =>
      o.onPage?.(
        own.events + others.reduce((n, t) => n + t.events(), 0),
        BigInt(Math.min(own.position, copy.position(), ...others.map((t) => t.position()))),
      );
    // Partition 0 on this thread: it has nothing else to do meanwhile but report progress.
    const own = await foldPartition(partition(0), {
      // The module, when given, is the same upcasters: an empty list folds without any.
      upcast: o.upcasterModule ? loadUpcasters(o.upcasterModule) : o.upcast,
      beforePage() {
        copy.check();
        for (const t of others) t.check();
      },
      onPage: (events, position) => report({ events, position }),
    });
    // The other threads and the audit copy may still be at work: progress goes on meanwhile.
    const ownDone = { events: own.events, position: until };
    // A progress callback that throws (the caller stops the build) stops the threads too.
    // In an object: set from the timer's callback, which TypeScript's narrowing does not follow.
    const stop: { error: Error | null } = { error: null };
    const ticker = setInterval(() => {
      try {
        report(ownDone);
      } catch (error) {
        stop.error ??= error instanceof Error ? error : new Error(String(error));
        void Promise.all([copy.stop(), ...others.map((t) => t.stop())]);
      }
    }, 250);
    let folded: FoldPartitionResult[];
    let fixups: number[];
    try {
      // Awaited together: a failure of any of them ends the wait at once.
      const [copied, ...rest] = await Promise.all([audit.done, ...others.map((t) => t.done)]);
      fixups = copied;
      folded = [own, ...rest];
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
    return {
      events: sum('events'),
      position: last === null ? null : BigInt(last),
      subscriptionRows: sum('subscriptionRows'),
      accountRows: sum('accountRows'),
      reloads: sum('reloads'),
      auditFixups: finish(o, scratchFiles, fixups, last),
      foldThreads: threads,
    };
  } finally {
    await audit?.stop();
    await Promise.all(others.map((t) => t.stop()));
    for (const f of scratchFiles) rmSync(f, { force: true });
  }
}

/**
 * The upcasters of a module, composed (what each fold thread does with the module); undefined
 * when the list is empty: the fold then skips the upcasting step (a stand-in event per event, a
 * BigInt position: about a tenth of the fold's CPU).
 */
function loadUpcasters(m: UpcasterModule): Upcast | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module named at run time
  const list = (require(m.file) as Record<string, readonly Upcaster[] | undefined>)[m.name];
  if (!Array.isArray(list)) throw new Error(`${m.file} exports no upcaster list ${m.name}`);
  return list.length > 0 ? composeUpcasters(list) : undefined;
}

/** The shadow's definitions of the folded tables (each fold thread's scratch file gets them). */
function foldedTableDdl(shadowFile: string): string[] {
  const shadow = new Database(shadowFile, { readonly: true, fileMustExist: true });
  try {
    return (
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
}

/**
 * Copies the folded tables into the shadow, rewrites the audit rows the SQL copy marked, and
 * writes the checkpoint. Returns the number of audit rows rewritten.
 */
function finish(
  o: BulkBuildOptions,
  scratchFiles: readonly string[],
  fixups: readonly number[],
  position: number | null,
): number {
  const db = new Database(o.shadowFile, { fileMustExist: true });
  const log = new Database(o.logFile, { readonly: true, fileMustExist: true });
  try {
    journalInMemory(db);
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -16384');
    // Attached before the transaction (SQLite refuses ATTACH inside one).
    scratchFiles.forEach((file, i) => db.prepare(`ATTACH DATABASE ? AS fold${i}`).run(file));
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
      // Each stream was folded by one thread only: the scratch files hold disjoint rows.
      scratchFiles.forEach((_, i) => {
        for (const table of FOLDED_TABLES)
          db.exec(`INSERT INTO main.${table} SELECT * FROM fold${i}.${table}`);
      });
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
    scratchFiles.forEach((_, i) => db.exec(`DETACH DATABASE fold${i}`));
    return fixups.length;
  } finally {
    log.close();
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
  // Set before the log is attached: they apply to the shadow only. The journal in memory, as
  // journalInMemory() does (defensive mode ignores OFF; a shadow left in WAL writes twice).
  const mode = db.pragma('journal_mode = MEMORY', { simple: true });
  if (mode !== 'memory') throw new Error('bulk build: the shadow stays in journal_mode=' + mode);
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

interface AuditCopy extends BulkThread<number[]> {
  /** Position every audit row is copied up to. */
  position(): number;
}

/** The audit copy's thread; `done` gives the positions of the rows left to `auditRow`. */
function startAuditCopy(logFile: string, shadowFile: string, until: number): AuditCopy {
  let position = 0;
  const thread = startBulkThread<number[]>(
    'audit copy',
    AUDIT_WORKER,
    {
      driver: require.resolve('better-sqlite3'),
      logFile,
      shadowFile,
      until,
      sql: AUDIT_SQL,
      chunk: 65_536,
    },
    (message) => {
      const m = message as { position?: number; fixups?: number[] };
      if (m.position !== undefined) position = m.position;
      return m.fixups;
    },
  );
  return { ...thread, position: () => position };
}
