import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { type EventStore, SqliteEventStore } from '@app/event-store';
import {
  GENERATIONS_DIR,
  generationSchema,
  linkPendingReceipts,
  ReadDb,
  ReadModelProjection,
  ReadStore,
  readCheckpoint,
  READ_MODELS_PROJECTION,
  type GenerationSwitch,
  type ReceiptSigner,
  type Upcast,
} from '@app/read-models';
import {
  BulkBuildUnsupportedError,
  bulkBuildReadModels,
  type UpcasterModule,
} from './read-model-bulk-build';
import { createGenerationDir, removeOrphanedGenerationDirs } from './generation-dir-owner';
import { lockGenerationSchema } from './generation-schema-lock';
import {
  REBUILT_TABLES,
  readModelChecksums,
  type RebuiltTable,
  type TableChecksum,
} from './read-model-checksums';

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
  /** The live read database (its pointer names the generation readers use). */
  live: ReadDb;
  /** DATA_DIR (SQLite generations go under DATA_DIR/read-models/) and READ_DB_URL (PostgreSQL). */
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
   * its COMMIT (rolled back: the pointer stays where it was); the new generation is removed
   * either way. The replay rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

export interface ReplayReport {
  projections: ProjectionName[];
  /** The generation built (after a switch-over, the one readers use). */
  generation: string;
  /** The generation it replaced (null: the base tables, or nothing replaced). */
  replaced: string | null;
  /** Whether the replaced generation was dropped (if not, the next replay removes it). */
  replacedDropped: boolean;
  dialect: 'sqlite' | 'postgres';
  dryRun: boolean;
  /** Events the rebuild projected (including the top-up taken under the swap lock). */
  events: number;
  /** Position the rebuilt tables include (their checkpoint). */
  position: string | null;
  /** The live read models' checkpoint when the switch happened (or when compared). */
  livePosition: string | null;
  buildMs: number;
  /** The switch-over: the top-up under the pointer's lock, the pointer moved, the old generation dropped. */
  swapMs: number;
  /**
   * Of swapMs, the time the pointer's lock was held (writers of the read models, the live
   * projector first, wait meanwhile; readers never wait). 0 for a dry run.
   */
  lockMs: number;
  eventsPerSecond: number;
  swapped: boolean;
  /** Per table: live and rebuilt checksums (when compared). */
  tables?: Record<RebuiltTable, { live: TableChecksum; rebuilt: TableChecksum; equal: boolean }>;
  /** True when every compared table is equal (null when not compared). */
  identical: boolean | null;
}

/**
 * Rebuilds the read models from the log into a new generation, then switches readers to it by
 * the pointer and drops the old one (docs/operations.md, "Replay"):
 *
 * 1. Build: a new generation (SQLite: a file under DATA_DIR/read-models/<generation>/;
 *    PostgreSQL: a schema `<schema>_<generation>`) is filled from the log with the projection's
 *    own mapping: on SQLite with a SQLite log by the bulk build (read-model-bulk-build.ts:
 *    streams folded in parallel threads), otherwise by `ReadModelProjection` page by page.
 *    Readers keep answering from the current generation meanwhile.
 * 2. Switch: holding the pointer's lock (which every writer of the read models takes, the live
 *    projector first: `ReadDb.writeTransaction`), the new generation is topped up to the live
 *    checkpoint, scrubs made since the build began are applied, the confirmations' delivery
 *    state is carried over, and the pointer names the new generation: one commit.
 * 3. The old generation is dropped.
 *
 * A killed replay leaves a generation no pointer names and no lock holds: the next replay
 * removes it. `dryRun` builds, tops up to the live checkpoint, compares and removes.
 */
export async function replayReadModels(o: ReplayOptions): Promise<ReplayReport> {
  const projections = resolveProjections(o.projection);
  const dryRun = o.dryRun ?? false;
  const compare = o.compare ?? dryRun;
  const generation = `g${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const started = Date.now();
  const stopIfAborted = (): void => o.signal?.throwIfAborted();
  stopIfAborted();
  // The base tables a replay killed after its switch-over left (the pointer names a generation).
  if ((await currentGeneration(o.live)) !== null) await o.live.dropGeneration(null, { graceMs: 0 });
  let next = await openGeneration(o, generation);
  let events = 0;
  try {
    await copyScrubs(o.live, next.db);
    const head = (await o.log.headPosition()) ?? 0n;
    let dropped = await dropSecondaryIndexes(next.db);
    let at: bigint | null = null;
    const report = (done: bigint) =>
      o.onProgress?.({ events, done: Number(done > head ? head : done), total: Number(head) });

    const logFile = o.log instanceof SqliteEventStore ? o.log.filePath : null;
    if (logFile && next.file && head > 0n) {
      await next.close();
      try {
        const built = await bulkBuildReadModels({
          logFile,
          shadowFile: next.file,
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
        await next.reopen();
        // The fold threads split the log by stream, so none can chain the receipts: one
        // sequential pass in log order links them, as the live projector would have.
        if (o.signer) await linkPendingReceipts(next.db.db, o.signer);
      } catch (error) {
        if (!(error instanceof BulkBuildUnsupportedError)) throw error;
        // Start again with the live projection, in a new generation (the bulk build writes
        // without a journal: what it left is not worth repairing).
        await next.dispose();
        next = await openGeneration(o, `${generation}b`);
        await copyScrubs(o.live, next.db);
        dropped = await dropSecondaryIndexes(next.db);
        events = 0;
      }
    }

    const nextStore = new ReadStore(next.db);
    const projection = new ReadModelProjection(next.db, o.upcast, o.signer ?? null);
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
    await recreateIndexes(next.db, dropped);
    await next.makeDurable();
    const buildMs = Date.now() - started;
    stopIfAborted();

    let swapped = false;
    let replaced: string | null = null;
    let replacedDropped = false;
    let livePosition: bigint | null;
    let lockMs = 0;
    const swapStarted = Date.now();
    const before = compare && !dryRun ? await readModelChecksums(o.live) : null;
    if (dryRun) {
      livePosition = await new ReadStore(o.live).checkpoint();
      if (livePosition !== null) await catchUp(livePosition, false);
    } else {
      // Scrubs made while the generation was built, applied before the switch takes the lock.
      await applyNewScrubs(
        await o.live.db.selectFrom('rm_scrubs').select(['scope', 'id']).execute(),
        nextStore,
      );
      // What arrived during the indexes and the sync, projected before writers are held up.
      const liveNow = await new ReadStore(o.live).checkpoint();
      if (liveNow !== null) await catchUp(liveNow, false);
      let locked = 0;
      const switched = await o.live.switchGeneration(next.name, async (s) => {
        locked = Date.now();
        const position = await readCheckpoint(s.trx);
        if (position !== null) await catchUp(position, false);
        await applyNewScrubs(
          await s.trx.selectFrom('rm_scrubs').select(['scope', 'id']).execute(),
          nextStore,
        );
        // A stop asked for meanwhile (seen on a turn of the event loop) rolls back.
        await new Promise<void>((resolve) => setImmediate(resolve));
        stopIfAborted();
        await carryConfirmationState(s, next.db);
        return position;
      });
      lockMs = Date.now() - locked;
      livePosition = switched.prepared;
      replaced = switched.from;
      swapped = true;
      next.keep();
      // The switch-over stands either way: a generation left here is the next replay's to remove.
      replacedDropped = await o.live.dropGeneration(replaced).then(
        () => true,
        () => false,
      );
    }
    const swapMs = Date.now() - swapStarted;
    const position = await nextStore.checkpoint();
    let tables: ReplayReport['tables'];
    if (compare) {
      const rebuilt = await readModelChecksums(swapped ? o.live : next.db);
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
      generation: next.name,
      replaced,
      replacedDropped,
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
    await next.dispose();
  }
}

/** A generation this replay builds. */
interface NextGeneration {
  readonly name: string;
  /** Its read database (a new object after reopen()). */
  readonly db: ReadDb;
  /** SQLite: its file (null on PostgreSQL). */
  readonly file: string | null;
  /** SQLite: closes the connection (for the bulk build's own) / opens it again. */
  close(): Promise<void>;
  reopen(): Promise<void>;
  /** Built without fsync: synced before readers may use it. */
  makeDurable(): Promise<void>;
  /** The pointer names it now: dispose() closes it and keeps it. */
  keep(): void;
  /** Closes it; removes it unless kept. */
  dispose(): Promise<void>;
}

async function openGeneration(o: ReplayOptions, name: string): Promise<NextGeneration> {
  const isCurrent = async (n: string): Promise<boolean> => {
    const current = await currentGeneration(o.live);
    return o.live.dialect === 'sqlite'
      ? n === current
      : current !== null && n === generationSchema(o.live.schema!, current);
  };
  let kept = false;
  if (o.live.dialect === 'sqlite') {
    // Generations left by replays that were killed (they can be as large as the read models).
    await removeOrphanedGenerationDirs(join(o.dataDir, 'replay'));
    const root = join(o.dataDir, GENERATIONS_DIR);
    await removeOrphanedGenerationDirs(root, isCurrent);
    const dir = createGenerationDir(root, name);
    const open = async () => {
      const db = await ReadDb.openGeneration({ dataDir: o.dataDir }, name);
      // Built from the log: a build lost to a crash is simply done again (makeDurable syncs it).
      await sql`pragma synchronous = OFF`.execute(db.db);
      await sql`pragma cache_size = -131072`.execute(db.db);
      return db;
    };
    let db: ReadDb | null;
    try {
      db = await open();
    } catch (error) {
      dir.remove();
      throw error;
    }
    const file = db.file!;
    return {
      name,
      get db() {
        if (!db) throw new Error('replay: the generation database is closed');
        return db;
      },
      file,
      async close() {
        await db?.close();
        db = null;
      },
      async reopen() {
        if (!db) db = await open();
      },
      async makeDurable() {
        if (!db) throw new Error('replay: the generation database is closed');
        await sql`pragma synchronous = NORMAL`.execute(db.db);
        await db.compact();
        const fd = openSync(file, 'r+');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      },
      keep() {
        kept = true;
      },
      async dispose() {
        await db?.close().catch(() => undefined);
        db = null;
        // A failure after the switch-over's commit (the pointer moved) is no reason to remove it.
        if (kept || (await isCurrent(name).catch(() => true))) dir.release();
        else dir.remove();
      },
    };
  }
  if (!o.readDbUrl) throw new Error('PostgreSQL read models need READ_DB_URL');
  const live = o.live.schema ?? 'public';
  const schema = generationSchema(live, name);
  // Held until the generation is live or dropped; first, those of replays that are gone go.
  const lock = await lockGenerationSchema(o.readDbUrl, schema);
  let db: ReadDb;
  try {
    await lock.dropOrphans(live, isCurrent);
    db = await ReadDb.openGeneration({ dataDir: o.dataDir, readDbUrl: o.readDbUrl }, name);
  } catch (error) {
    await lock.release().catch(() => undefined);
    throw error;
  }
  return {
    name,
    db,
    file: null,
    async close() {
      throw new Error('replay: a PostgreSQL generation is not closed before the end');
    },
    async reopen() {},
    async makeDurable() {},
    keep() {
      kept = true;
    },
    async dispose() {
      await db.close().catch(() => undefined);
      try {
        // A failure after the switch-over's commit (the pointer moved) is no reason to drop it.
        if (!kept && !(await isCurrent(schema).catch(() => true)))
          await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(o.live.db);
      } finally {
        await lock.release().catch(() => undefined);
      }
    },
  };
}

/** The generation the pointer names now (read afresh, not this process's cached one). */
const currentGeneration = async (live: ReadDb): Promise<string | null> =>
  (await live.readPointer()).generation;

async function copyScrubs(live: ReadDb, next: ReadDb): Promise<void> {
  const rows = await live.db.selectFrom('rm_scrubs').selectAll().execute();
  for (let i = 0; i < rows.length; i += 500)
    await next.db
      .insertInto('rm_scrubs')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) => oc.columns(['scope', 'id']).doNothing())
      .execute();
}

/** Scrubs that happened on the live read models while the generation was built are applied to it. */
async function applyNewScrubs(
  liveRows: readonly { scope: string; id: string }[],
  next: ReadStore,
): Promise<void> {
  const known = new Set(
    (await next.readDb.db.selectFrom('rm_scrubs').select(['scope', 'id']).execute()).map(
      (r) => `${r.scope}\u0000${r.id}`,
    ),
  );
  for (const r of liveRows) {
    if (known.has(`${r.scope}\u0000${r.id}`)) continue;
    if (r.scope === 'subscription') await next.scrubSubscription(r.id);
    else if (r.scope === 'account') await next.scrubAccount(r.id);
  }
}

const CONFIRMATION_STATE = [
  'status',
  'attempts',
  'next_attempt_at',
  'delivered_at',
  'last_error',
] as const;

/**
 * The confirmations' delivery state (status, attempts, …) is not in the log: carried from the
 * generation replaced into the new one while the switch-over holds the pointer's lock (the
 * notifier, a writer, waits), for the rows whose state moved. PostgreSQL: in the switch-over's
 * transaction. SQLite: in the new generation's own file, through its connection, before the
 * pointer moves; the switch-over's commit then writes the pointer's file alone.
 */
async function carryConfirmationState(s: GenerationSwitch, next: ReadDb): Promise<void> {
  const carry = (from: string, to: string) =>
    sql`update ${sql.id(to)}.${sql.id('rm_confirmations')} as n set ${sql.join(
      CONFIRMATION_STATE.map((c) => sql`${sql.id(c)} = l.${sql.id(c)}`),
    )} from ${sql.id(from)}.${sql.id('rm_confirmations')} as l
      where l.event_id = n.event_id and (l.status <> n.status or l.attempts <> n.attempts)`;
  if (!s.fromFile) {
    await carry(s.fromSchema, s.toSchema).execute(s.trx);
    return;
  }
  await sql`attach database ${s.fromFile} as replaced`.execute(next.db);
  try {
    await carry('replaced', 'main').execute(next.db);
  } finally {
    await sql`detach database replaced`.execute(next.db);
  }
}

interface IndexDef {
  name: string;
  ddl: string;
}

/** Bulk loading is faster without secondary indexes; they are made again after the build. */
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

async function recreateIndexes(db: ReadDb, defs: readonly IndexDef[]): Promise<void> {
  for (const d of defs) await sql.raw(d.ddl).execute(db.db);
  await sql`analyze`.execute(db.db);
}
