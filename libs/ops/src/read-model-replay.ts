import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { type EventStore, SqliteEventStore } from '@app/event-store';
import {
  linkPendingReceipts,
  READ_MODELS_PROJECTION,
  ReadDb,
  ReadModelProjection,
  ReadStore,
  type ReadDatabase,
  type ReceiptSigner,
  type Upcast,
} from '@app/read-models';
import {
  BulkBuildUnsupportedError,
  bulkBuildReadModels,
  type UpcasterModule,
} from './read-model-bulk-build';
import { createShadowDir, removeOrphanedShadowDirs } from './replay-shadow-owner';
import { lockShadowSchema } from './replay-shadow-schema-lock';
import {
  REBUILT_TABLES,
  readModelChecksums,
  type RebuiltTable,
  type TableChecksum,
} from './read-model-checksums';
import {
  copyAhead,
  dropNextTables,
  dropOrphanedNextTables,
  nextTableDdl,
  PRECOPIED_TABLES,
  type PrecopiedTable,
  recordShadowChanges,
  replaceWithNext,
} from './sqlite-table-precopy';

/**
 * Projections a replay can rebuild. Every read model is written by one projection in one
 * transaction (`read-models`), so `all` and `read-models` rebuild the same set of tables.
 */
export const PROJECTION_NAMES = [READ_MODELS_PROJECTION] as const;
export type ProjectionName = (typeof PROJECTION_NAMES)[number];

export class UnknownProjectionError extends Error {
  constructor(readonly projection: string) {
    super(
      `Unknown projection "${projection}": known are ${[...PROJECTION_NAMES, 'all'].join(', ')}.`,
    );
    this.name = 'UnknownProjectionError';
  }
}

/** `all` or a known name → the projections to rebuild. */
export function resolveProjections(name: string | undefined): ProjectionName[] {
  if (name === undefined || name === 'all') return [...PROJECTION_NAMES];
  if ((PROJECTION_NAMES as readonly string[]).includes(name)) return [name as ProjectionName];
  throw new UnknownProjectionError(name);
}

export interface ReplayProgress {
  /** Events projected so far. */
  events: number;
  /** Positions covered so far and in all (dense on SQLite: equal to events). */
  done: number;
  total: number;
}

export interface ReplayOptions {
  /** The raw log (audit rows keep the events as written). */
  log: EventStore;
  /** The live read database (its dialect decides how the shadow is built and swapped). */
  live: ReadDb;
  /** DATA_DIR (SQLite shadows go under DATA_DIR/replay/) and READ_DB_URL (PostgreSQL). */
  dataDir: string;
  readDbUrl?: string | undefined;
  upcast?: Upcast;
  /** The same upcasters as a module: lets the bulk build fold in several threads. */
  upcasterModule?: UpcasterModule;
  /**
   * D11: links the purge receipts into the signed chain (the live projector's key: the same log
   * and key give the same links). Without it the rebuilt receipts stay unlinked.
   */
  signer?: ReceiptSigner;
  projection?: string;
  /** Build and compare, but do not switch readers over. */
  dryRun?: boolean;
  /** Events per read and per projection transaction (default 2000). */
  batchSize?: number;
  onProgress?: (p: ReplayProgress) => void;
  /** Also checksum the live tables before and the rebuilt ones (default: with dryRun). */
  compare?: boolean;
  /**
   * Stops the replay when aborted: between pages of the build, or inside the switch-over before
   * its COMMIT (rolled back: the live tables stay as they were); the shadow is removed either
   * way. The replay rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

export interface ReplayReport {
  projections: ProjectionName[];
  generation: string;
  dialect: 'sqlite' | 'postgres';
  dryRun: boolean;
  /** Events the rebuild projected (including the top-up taken under the swap lock). */
  events: number;
  /** Position the rebuilt tables include (their checkpoint). */
  position: string | null;
  /** The live read models' checkpoint when the switch happened (or when compared). */
  livePosition: string | null;
  buildMs: number;
  /** The switch-over: on SQLite, the copy ahead of the lock and the locked part. */
  swapMs: number;
  /**
   * Of swapMs, the time the live read models were locked against writers (the live projector
   * waits meanwhile; readers never wait). 0 for a dry run.
   */
  lockMs: number;
  eventsPerSecond: number;
  swapped: boolean;
  /** Per table: live and rebuilt checksums (when compared). */
  tables?: Record<RebuiltTable, { live: TableChecksum; rebuilt: TableChecksum; equal: boolean }>;
  /** True when every compared table is equal (null when not compared). */
  identical: boolean | null;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Rebuilds the read models from the log into fresh tables, then switches readers over
 * atomically; readers keep answering from the live tables while it builds.
 *
 * - SQLite: the shadow is a separate database file (DATA_DIR/replay/<generation>/). With the
 *   SQLite log it is built by the bulk build (read-model-bulk-build.ts: raw pages of the log,
 *   streams folded in memory, prepared statements, no journal), then topped up by the live
 *   projection; otherwise by the live projection alone. Its secondary indexes are dropped and
 *   only those a scrub during the build needs are made again: the shadow's rows are copied into
 *   the live tables, which have their own. First the large tables (audit events, subscriptions,
 *   purge receipts) are copied into `<table>__next` tables of the live file, with their indexes,
 *   in short transactions (sqlite-table-precopy.ts); the shadow records which rows it changes
 *   from then on. The switch is then one write transaction on the live file: the live projector
 *   is locked out, the shadow is topped up to the live checkpoint, the rows it changed are copied
 *   again, each `<table>__next` replaces its live table (DROP, RENAME), and the small tables are
 *   replaced by the shadow's rows (DELETE + INSERT … SELECT). Readers (WAL) see the old tables
 *   until the COMMIT, the new ones after it; a projector that wanted to write meanwhile waits
 *   (busy_timeout) and retries. At a million events the lock is held for a few hundred ms,
 *   against 10 s when every row was copied under it.
 * - PostgreSQL: the shadow is a schema `<live schema>_replay_<generation>`. The switch is one
 *   transaction: lock the live tables against writers, top up the shadow, then
 *   `ALTER TABLE … SET SCHEMA` the live tables out and the shadow ones in (a rename: O(1)).
 *
 * Kept across the switch: scrub markers (rm_scrubs; scrubs that happened during the build are
 * applied to the shadow first), the confirmations' delivery state (status, attempts, …), and
 * other checkpoints. The read-models checkpoint becomes the shadow's (never behind the live one).
 */
export async function replayReadModels(o: ReplayOptions): Promise<ReplayReport> {
  const projections = resolveProjections(o.projection);
  const dryRun = o.dryRun ?? false;
  const compare = o.compare ?? dryRun;
  const generation = `g${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const started = Date.now();
  const stopIfAborted = (): void => o.signal?.throwIfAborted();
  stopIfAborted();
  let shadow = await openShadow(o, generation);
  let events = 0;
  try {
    await copyScrubs(o.live, shadow.db);
    const head = (await o.log.headPosition()) ?? 0n;
    let dropped = await dropSecondaryIndexes(shadow.db);
    let at: bigint | null = null;
    const report = (done: bigint) =>
      o.onProgress?.({ events, done: Number(done > head ? head : done), total: Number(head) });

    // SQLite log and SQLite read models: the bulk build (read-model-bulk-build.ts) writes the
    // rows the live projection would, much faster; the live projection then tops it up.
    const logFile = o.log instanceof SqliteEventStore ? o.log.filePath : null;
    if (logFile && shadow.file && head > 0n) {
      await shadow.close();
      try {
        const built = await bulkBuildReadModels({
          logFile,
          shadowFile: shadow.file,
          until: head,
          upcast: o.upcast,
          upcasterModule: o.upcasterModule,
          onPage: (n, position) => {
            stopIfAborted();
            events = n;
            report(position);
          },
        });
        events = built.events;
        at = built.position;
        await shadow.reopen();
        // The fold threads split the log by stream, so none can chain the receipts: one
        // sequential pass in log order links them, as the live projector would have.
        if (o.signer) await linkPendingReceipts(shadow.db.db, o.signer);
      } catch (error) {
        if (!(error instanceof BulkBuildUnsupportedError)) throw error;
        // Start again with the live projection, in a new shadow (the bulk build writes without
        // a journal: what it left is not worth repairing).
        await shadow.dispose();
        shadow = await openShadow(o, `${generation}b`);
        await copyScrubs(o.live, shadow.db);
        dropped = await dropSecondaryIndexes(shadow.db);
        events = 0;
      }
    }

    const shadowStore = new ReadStore(shadow.db);
    const projection = new ReadModelProjection(shadow.db, o.upcast, o.signer ?? null);
    const catchUp = async (until: bigint, progress: boolean): Promise<void> => {
      while (at === null || at < until) {
        stopIfAborted();
        const batch = await o.log.readAll({
          ...(at === null ? {} : { after: at }),
          maxCount: o.batchSize ?? 2000,
        });
        if (batch.length === 0) break;
        await projection.apply(batch, READ_MODELS_PROJECTION);
        events += batch.length;
        at = batch[batch.length - 1]!.position;
        if (progress) report(at);
      }
    };
    await catchUp(head, true);
    // A PostgreSQL shadow becomes the live tables: it gets every index. A SQLite shadow is only
    // copied into the live tables (whose own indexes that copy keeps up): its indexes are built
    // only where the switch reads them (scrubs, below).
    if (o.live.dialect === 'postgres') await recreateIndexes(shadow.db, dropped);
    const ensureScrubIndexes = once(() =>
      recreateIndexes(
        shadow.db,
        dropped.filter((d) => SCRUB_INDEXES.includes(d.name)),
        false,
      ),
    );
    const buildMs = Date.now() - started;
    stopIfAborted();

    let swapped = false;
    let livePosition: bigint | null;
    let lockMs = 0;
    const swapStarted = Date.now();
    let tables: ReplayReport['tables'];
    const before = compare && !dryRun ? await readModelChecksums(o.live) : null;
    if (dryRun) {
      livePosition = await new ReadStore(o.live).checkpoint();
      if (livePosition !== null) await catchUp(livePosition, false);
    } else if (o.live.dialect === 'sqlite') {
      // Scrubs made while the shadow was built, applied before the switch takes the lock.
      await applyNewScrubs(
        await o.live.db.selectFrom('rm_scrubs').select(['scope', 'id']).execute(),
        shadowStore,
        ensureScrubIndexes,
      );
      ({ livePosition, lockMs } = await swapSqlite(
        o.live,
        shadow.db,
        shadowStore,
        catchUp,
        ensureScrubIndexes,
        stopIfAborted,
      ));
      swapped = true;
    } else {
      ({ livePosition, lockMs } = await swapPostgres(
        o.live,
        shadow.db,
        shadowStore,
        shadow.schema!,
        catchUp,
        stopIfAborted,
      ));
      swapped = true;
    }
    const swapMs = Date.now() - swapStarted;
    const position = await shadowStore.checkpoint();
    if (compare) {
      const rebuilt = await readModelChecksums(swapped ? o.live : shadow.db);
      const live = before ?? (await readModelChecksums(o.live));
      tables = {} as NonNullable<ReplayReport['tables']>;
      for (const t of REBUILT_TABLES)
        tables[t] = {
          live: live[t],
          rebuilt: rebuilt[t],
          equal: live[t].sha256 === rebuilt[t].sha256 && live[t].rows === rebuilt[t].rows,
        };
    }
    return {
      projections,
      generation,
      dialect: o.live.dialect,
      dryRun,
      events,
      position: position?.toString() ?? null,
      livePosition: livePosition?.toString() ?? null,
      buildMs,
      swapMs,
      lockMs,
      eventsPerSecond: buildMs > 0 ? Math.round((events / buildMs) * 1000) : events,
      swapped,
      ...(tables ? { tables } : {}),
      identical: tables ? Object.values(tables).every((t) => t.equal) : null,
    };
  } finally {
    await shadow.dispose();
  }
}

interface Shadow {
  /** The shadow's read database (a new object after reopen()). */
  readonly db: ReadDb;
  schema: string | null;
  /** SQLite: the shadow file (null on PostgreSQL). */
  file: string | null;
  /** SQLite: closes the connection (for the bulk build's own) / opens it again. */
  close(): Promise<void>;
  reopen(): Promise<void>;
  dispose(): Promise<void>;
}

async function openShadow(o: ReplayOptions, generation: string): Promise<Shadow> {
  if (o.live.dialect === 'sqlite') {
    const root = join(o.dataDir, 'replay');
    // Shadows left by a replay process that was killed (they can be as large as the read DB).
    removeOrphanedShadowDirs(root);
    const shadowDir = createShadowDir(root, generation);
    const open = async () => {
      const db = await ReadDb.open({ dataDir: shadowDir.path });
      // A shadow lost to a crash is simply rebuilt: no fsync per transaction.
      await sql`pragma synchronous = OFF`.execute(db.db);
      await sql`pragma cache_size = -131072`.execute(db.db);
      return db;
    };
    let db: ReadDb | null;
    try {
      db = await open();
    } catch (error) {
      shadowDir.remove();
      throw error;
    }
    return {
      get db() {
        if (!db) throw new Error('replay: the shadow database is closed');
        return db;
      },
      schema: null,
      file: db.file,
      async close() {
        await db?.close();
        db = null;
      },
      async reopen() {
        if (!db) db = await open();
      },
      async dispose() {
        await db?.close().catch(() => undefined);
        db = null;
        shadowDir.remove();
      },
    };
  }
  if (!o.readDbUrl) throw new Error('PostgreSQL read models need READ_DB_URL');
  const live = o.live.schema ?? 'public';
  const schema = `${live}_replay_${generation}`.slice(0, 63);
  if (!SCHEMA_NAME.test(schema)) throw new Error(`Bad shadow schema name ${schema}`);
  // Held until the shadow is dropped; first, the shadows of replays that are gone are dropped.
  const lock = await lockShadowSchema(o.readDbUrl, schema);
  let db: ReadDb;
  try {
    await lock.dropOrphans(live);
    const url = new URL(o.readDbUrl);
    url.searchParams.set('schema', schema);
    db = await ReadDb.open({ dataDir: o.dataDir, readDbUrl: url.toString(), poolSize: 2 });
  } catch (error) {
    await lock.release().catch(() => undefined);
    throw error;
  }
  return {
    db,
    schema,
    file: null,
    async close() {
      throw new Error('replay: a PostgreSQL shadow is not closed before the end');
    },
    async reopen() {},
    async dispose() {
      await db.close().catch(() => undefined);
      try {
        // The shadow schema is empty after a switch but for its bookkeeping tables.
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(o.live.db);
      } finally {
        await lock.release().catch(() => undefined);
      }
    },
  };
}

async function copyScrubs(live: ReadDb, shadow: ReadDb): Promise<void> {
  const rows = await live.db.selectFrom('rm_scrubs').selectAll().execute();
  for (let i = 0; i < rows.length; i += 500)
    await shadow.db
      .insertInto('rm_scrubs')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) => oc.columns(['scope', 'id']).doNothing())
      .execute();
}

/** Scrubs that happened on the live tables while the shadow was built are applied to it. */
async function applyNewScrubs(
  liveRows: readonly { scope: string; id: string }[],
  shadow: ReadStore,
  beforeFirst: () => Promise<void> = async () => undefined,
): Promise<void> {
  const known = new Set(
    (await shadow.readDb.db.selectFrom('rm_scrubs').select(['scope', 'id']).execute()).map(
      (r) => `${r.scope}\u0000${r.id}`,
    ),
  );
  for (const r of liveRows) {
    if (known.has(`${r.scope}\u0000${r.id}`)) continue;
    if (r.scope !== 'subscription' && r.scope !== 'account') continue;
    await beforeFirst();
    if (r.scope === 'subscription') await shadow.scrubSubscription(r.id);
    else await shadow.scrubAccount(r.id);
  }
}

/** A scrub looks audit rows up by subscription or account. */
const SCRUB_INDEXES = ['rm_audit_events_subscription_id', 'rm_audit_events_account_id'];

const once = (f: () => Promise<void>): (() => Promise<void>) => {
  let done: Promise<void> | null = null;
  return () => (done ??= f());
};

interface IndexDef {
  name: string;
  ddl: string;
}

/** Bulk loading is faster without secondary indexes; they are re-created after the build. */
async function dropSecondaryIndexes(db: ReadDb): Promise<IndexDef[]> {
  const tables = [...REBUILT_TABLES];
  const defs: IndexDef[] =
    db.dialect === 'sqlite'
      ? (
          await sql<IndexDef>`select name, sql as ddl from sqlite_master where type = 'index'
            and sql is not null and tbl_name in (${sql.join(tables)})`.execute(db.db)
        ).rows
      : (
          await sql<IndexDef>`select i.indexname as name, i.indexdef as ddl from pg_indexes i
            where i.schemaname = ${db.schema} and i.tablename in (${sql.join(tables)})
            and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`.execute(
            db.db,
          )
        ).rows;
  for (const d of defs) await sql`drop index ${sql.id(d.name)}`.execute(db.db);
  return defs;
}

async function recreateIndexes(
  db: ReadDb,
  defs: readonly IndexDef[],
  analyze = true,
): Promise<void> {
  for (const d of defs) await sql.raw(d.ddl).execute(db.db);
  if (analyze) await sql`analyze`.execute(db.db);
}

type CatchUp = (until: bigint, report: boolean) => Promise<void>;

const CONFIRMATION_STATE = [
  'status',
  'attempts',
  'next_attempt_at',
  'delivered_at',
  'last_error',
] as const;

async function swapSqlite(
  live: ReadDb,
  shadow: ReadDb,
  shadowStore: ReadStore,
  catchUp: CatchUp,
  beforeFirstScrub: () => Promise<void>,
  stopIfAborted: () => void,
): Promise<{ livePosition: bigint | null; lockMs: number }> {
  const liveFile = live.file!;
  const shadowFile = shadow.file!;
  const conn = new Database(liveFile);
  try {
    conn.pragma('busy_timeout = 30000');
    // The indexes of the tables filled ahead stay in memory while they fill.
    conn.pragma('cache_size = -262144');
    conn.pragma('analysis_limit = 1000');
    conn.exec(`ATTACH DATABASE '${shadowFile.replace(/'/g, "''")}' AS shadow`);
    const columnsOf = (table: string): string[] =>
      (conn.prepare(`PRAGMA main.table_info(${table})`).all() as { name: string }[]).map(
        (c) => c.name,
      );
    const indexesOf = (table: string): IndexDef[] =>
      conn
        .prepare(
          `SELECT name, sql AS ddl FROM main.sqlite_master
           WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`,
        )
        .all(table) as IndexDef[];
    // This replay's shadow directory is named by its generation: the tag of its tables. The
    // other directories are the replays still running (killed ones were removed at the start).
    const tag = basename(dirname(shadowFile));
    dropOrphanedNextTables(conn, new Set(readdirSync(dirname(dirname(shadowFile)))));
    try {
      // Ahead of the lock, the large tables are copied into the live file in short
      // transactions; under the lock only what changed since is copied (sqlite-table-precopy.ts).
      recordShadowChanges(conn);
      const ahead = new Map<PrecopiedTable, string[]>();
      for (const table of PRECOPIED_TABLES) {
        const ddl = nextTableDdl(conn, table, tag);
        if (!ddl) continue; // a definition it cannot rewrite: copied under the lock
        const columns = columnsOf(table);
        await copyAhead(conn, table, tag, ddl, columns, stopIfAborted);
        ahead.set(table, columns);
      }
      conn.exec('BEGIN');
      const locked = Date.now();
      // The first write takes the live file's write lock (and only that file's): from here the
      // live projector cannot commit, so its checkpoint is final until COMMIT.
      conn
        .prepare('UPDATE main.rm_checkpoints SET name = name WHERE name = ?')
        .run(READ_MODELS_PROJECTION);
      const row = conn
        .prepare('SELECT position FROM main.rm_checkpoints WHERE name = ?')
        .get(READ_MODELS_PROJECTION) as { position: number } | undefined;
      const livePosition = row ? BigInt(row.position) : null;
      // Top up through the shadow's own connection (the swap connection has not read it yet).
      if (livePosition !== null) await catchUp(livePosition, false);
      const scrubs = conn.prepare('SELECT scope, id FROM main.rm_scrubs').all() as {
        scope: string;
        id: string;
      }[];
      await applyNewScrubs(scrubs, shadowStore, beforeFirstScrub);
      const shadowPosition = await shadowStore.checkpoint();

      for (const table of REBUILT_TABLES) {
        // A stop asked for meanwhile (it is seen on a turn of the event loop) rolls back.
        await new Promise<void>((resolve) => setImmediate(resolve));
        stopIfAborted();
        const columns = ahead.get(table as PrecopiedTable);
        if (columns) {
          replaceWithNext(conn, table as PrecopiedTable, tag, columns);
          continue;
        }
        const cols = columnsOf(table);
        const list = cols.map((c) => `"${c}"`).join(', ');
        // The live table's secondary indexes are built again after the rows are in (sorted, in
        // one pass) rather than kept up row by row: about a quarter less time holding the lock.
        // Still one transaction: readers see the old table and its indexes until the COMMIT.
        const indexes = indexesOf(table);
        for (const i of indexes) conn.exec(`DROP INDEX main."${i.name.replace(/"/g, '""')}"`);
        if (table === 'rm_confirmations') {
          conn.exec(
            `CREATE TEMP TABLE ops_keep AS SELECT event_id, ${CONFIRMATION_STATE.join(', ')} FROM main.rm_confirmations`,
          );
          conn.exec('DELETE FROM main.rm_confirmations');
          const select = cols
            .map((c) =>
              (CONFIRMATION_STATE as readonly string[]).includes(c)
                ? `CASE WHEN k.event_id IS NULL THEN s."${c}" ELSE k."${c}" END`
                : `s."${c}"`,
            )
            .join(', ');
          conn.exec(
            `INSERT INTO main.rm_confirmations (${list}) SELECT ${select} FROM shadow.rm_confirmations s LEFT JOIN temp.ops_keep k ON k.event_id = s.event_id`,
          );
          conn.exec('DROP TABLE temp.ops_keep');
        } else {
          conn.exec(`DELETE FROM main.${table}`);
          conn.exec(`INSERT INTO main.${table} (${list}) SELECT ${list} FROM shadow.${table}`);
        }
        for (const i of indexes) conn.exec(i.ddl);
      }
      if (shadowPosition !== null)
        conn
          .prepare(
            `INSERT INTO main.rm_checkpoints (name, position, updated_at) VALUES (?, ?, ?)
             ON CONFLICT(name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
          )
          .run(READ_MODELS_PROJECTION, Number(shadowPosition), new Date().toISOString());
      await new Promise<void>((resolve) => setImmediate(resolve));
      stopIfAborted();
      conn.exec('COMMIT');
      return { livePosition, lockMs: Date.now() - locked };
    } catch (error) {
      if (conn.inTransaction) conn.exec('ROLLBACK');
      // The tables copied ahead, if any (the live tables are as they were).
      try {
        dropNextTables(conn, tag);
      } catch {
        // left for the next switch-over, which drops them first
      }
      throw error;
    }
  } finally {
    try {
      conn.exec('DETACH DATABASE shadow');
    } catch {
      // already detached or never attached
    }
    conn.close();
    await live.compact();
  }
}

async function swapPostgres(
  live: ReadDb,
  shadow: ReadDb,
  shadowStore: ReadStore,
  shadowSchema: string,
  catchUp: CatchUp,
  stopIfAborted: () => void,
): Promise<{ livePosition: bigint | null; lockMs: number }> {
  const liveSchema = live.schema ?? 'public';
  let locked = 0;
  const old = `${shadowSchema}_old`.slice(0, 63);
  const q = (schema: string, table: string) => sql`${sql.id(schema)}.${sql.id(table)}`;
  const livePosition = await live.db.transaction().execute(async (trx) => {
    const t = trx as unknown as Kysely<ReadDatabase>;
    await sql`set local lock_timeout = '20s'`.execute(t);
    locked = Date.now();
    // Writers (the live projector) wait from here to COMMIT; readers go on until the renames.
    await sql`lock table ${sql.join(
      [...REBUILT_TABLES, 'rm_checkpoints'].map((n) => q(liveSchema, n)),
    )} in share row exclusive mode`.execute(t);
    const row = (
      await sql<{
        position: string;
      }>`select position from ${q(liveSchema, 'rm_checkpoints')} where name = ${READ_MODELS_PROJECTION}`.execute(
        t,
      )
    ).rows[0];
    const position = row ? BigInt(row.position) : null;
    if (position !== null) await catchUp(position, false);
    const scrubs = (
      await sql<{
        scope: string;
        id: string;
      }>`select scope, id from ${q(liveSchema, 'rm_scrubs')}`.execute(t)
    ).rows;
    await applyNewScrubs(scrubs, shadowStore);
    const shadowPosition = await shadowStore.checkpoint();
    // Thrown inside the transaction: rolled back, the live tables stay where they are.
    stopIfAborted();
    await sql`update ${q(shadowSchema, 'rm_confirmations')} s set ${sql.join(
      CONFIRMATION_STATE.map((c) => sql`${sql.id(c)} = l.${sql.id(c)}`),
    )} from ${q(liveSchema, 'rm_confirmations')} l where l.event_id = s.event_id`.execute(t);
    await sql`create schema ${sql.id(old)}`.execute(t);
    for (const table of REBUILT_TABLES)
      await sql`alter table ${q(liveSchema, table)} set schema ${sql.id(old)}`.execute(t);
    for (const table of REBUILT_TABLES)
      await sql`alter table ${q(shadowSchema, table)} set schema ${sql.id(liveSchema)}`.execute(t);
    if (shadowPosition !== null)
      await sql`insert into ${q(liveSchema, 'rm_checkpoints')} (name, position, updated_at)
        values (${READ_MODELS_PROJECTION}, ${shadowPosition.toString()}, ${new Date().toISOString()})
        on conflict (name) do update set position = excluded.position, updated_at = excluded.updated_at`.execute(
        t,
      );
    return position;
  });
  const lockMs = Date.now() - locked;
  await sql`drop schema if exists ${sql.id(old)} cascade`.execute(live.db);
  return { livePosition, lockMs };
}
