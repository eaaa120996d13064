import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type Transaction, sql } from 'kysely';
import { Pool } from 'pg';
import { WalCheckpointer, switchToWal } from '@app/event-store';
import { connectDedicated } from './dedicated-connection';
import {
  GENERATION_TABLES,
  GenerationPlugin,
  attachedName,
  generationDir,
  generationFile,
  generationSchema,
  removeGenerationDirectory,
} from './generation';
import { migrateReadModels } from './migrations';
import { PointerFollowingDatabase, UNRESOLVED_GENERATION } from './pointer-following-database';
import type { ReadDatabase } from './read-db.schema';

export type ReadDialect = 'sqlite' | 'postgres';

export interface ReadDbOptions {
  /** Embedded default: `<dataDir>/read-models.sqlite`. */
  dataDir: string;
  /**
   * READ_DB_URL: `postgres://…` selects PostgreSQL. A `schema` query parameter
   * (`postgres://…/db?schema=read_models`) puts every table in that schema (created if missing).
   */
  readDbUrl?: string | undefined;
  /** PostgreSQL pool size (default 8). */
  poolSize?: number;
  /** PostgreSQL: how often the generation pointer is read (default GENERATION_POLL_MS). */
  generationPollMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** SQLite: how long a statement waits for another process's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * PostgreSQL: how often a process reads the generation pointer (SQLite reads it before every
 * query: a local read). A replay drops the old generation's schema only after
 * `GENERATION_GRACE_MS`, when every process has moved to the new one.
 */
export const GENERATION_POLL_MS = 500;
export const GENERATION_GRACE_MS = 3 * GENERATION_POLL_MS;

/** A write began on a generation the pointer no longer names: retried on the new one. */
export class GenerationMovedError extends Error {
  constructor(
    readonly expected: string | null,
    readonly actual: string | null,
    readonly version: number,
  ) {
    super(`read models moved from generation ${expected ?? '(base)'} to ${actual ?? '(base)'}`);
    this.name = 'GenerationMovedError';
  }
}

/** What a replay's switch-over sees while it holds the pointer's lock. */
export interface GenerationSwitch {
  /**
   * The transaction holding the pointer's lock (the switch commits with it); its queries name
   * the generation being replaced.
   */
  trx: Transaction<ReadDatabase>;
  /** The generation being replaced (null: the base tables). */
  from: string | null;
  /**
   * The schemas that name the generation being replaced and the new one, for statements that
   * read one and write the other in `trx` (PostgreSQL). On SQLite only the one replaced is
   * attached to `trx`'s connection (`main` for the base tables): the new one is written through
   * its own connection, with `fromFile` attached there.
   */
  fromSchema: string;
  toSchema: string;
  /** SQLite: the file holding the generation being replaced (null on PostgreSQL). */
  fromFile: string | null;
}

/**
 * The read database: Kysely over better-sqlite3 (embedded default, a file under DATA_DIR) or over
 * a pg Pool (READ_DB_URL). Migrated to the latest schema when opened.
 */
export class ReadDb {
  /** The generation of the read models this process reads and writes (null: the base tables). */
  private current: string | null = null;
  /** The pointer's version `current` was read at (PostgreSQL: polls answered late are ignored). */
  private version = -1;
  private polling = false;
  /** SQLite: the attached names of generations no longer current, detached when possible. */
  private readonly stale = new Set<string>();
  private pointerPoll: NodeJS.Timeout | null = null;
  private pointerQuery: Database.Statement | null = null;
  private generationCheckpointer: WalCheckpointer | null = null;

  private constructor(
    readonly db: Kysely<ReadDatabase>,
    readonly dialect: ReadDialect,
    /** PostgreSQL schema of the tables, null for SQLite. */
    readonly schema: string | null,
    private readonly sqlite: Database.Database | null,
    /** Where the data lives, without credentials (for logs and health output). */
    readonly location: string,
    private readonly checkpointer: WalCheckpointer | null,
    private readonly options: ReadDbOptions,
  ) {}

  /**
   * Opens the read database and the generation its pointer names (generation.ts): queries name
   * the generation tables in that generation's file (SQLite, attached) or schema (PostgreSQL),
   * and follow the pointer when a replay moves it.
   */
  static async open(options: ReadDbOptions): Promise<ReadDb> {
    // Set once open: until then (migrations) queries name the base tables.
    const pointer = { readDb: null as ReadDb | null };
    const readDb = options.readDbUrl
      ? ReadDb.openPostgres(
          options.readDbUrl,
          options.poolSize ?? 8,
          new GenerationPlugin(() => pointer.readDb?.qualifier() ?? null),
          options,
        )
      : ReadDb.openSqlite(
          join(options.dataDir, 'read-models.sqlite'),
          () => pointer.readDb?.followedSchema() ?? null,
          options,
        );
    try {
      if (readDb.sqlite) {
        await migrateReadModels(readDb.db as Kysely<unknown>, 'sqlite', null);
        // 0x10002: on open, analyse every table whose statistics are missing or stale.
        readDb.sqlite.pragma('optimize = 0x10002');
      } else {
        await ReadDb.whileLocked(options.readDbUrl!, readDb.schema!, async () => {
          if (readDb.schema !== 'public')
            await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(readDb.schema!)}`.execute(readDb.db);
          await migrateReadModels(readDb.db as Kysely<unknown>, 'postgres', readDb.schema);
        });
      }
      const { generation, version } = await readDb.readPointer();
      // Opening a generation that is not there would make an empty one and serve nothing.
      if (generation !== null && !(await readDb.generationExists(generation)))
        throw new Error(
          `read models: the pointer names generation ${generation}, not found at ${readDb.generationLocation(generation)}`,
        );
      // The generation's own tables are migrated like the base's (a newer version's columns).
      if (generation !== null) await (await ReadDb.openGeneration(options, generation)).close();
      readDb.use(generation, version);
      pointer.readDb = readDb;
      if (!readDb.sqlite) {
        await readDb.optimize();
        readDb.pointerPoll = setInterval(() => {
          // One poll at a time (a slow one must not answer after a newer one).
          if (readDb.polling) return;
          readDb.polling = true;
          readDb
            .followPostgresPointer()
            .catch(() => undefined)
            .finally(() => (readDb.polling = false));
        }, options.generationPollMs ?? GENERATION_POLL_MS);
        readDb.pointerPoll.unref();
      }
    } catch (error) {
      await readDb.close();
      throw error;
    }
    return readDb;
  }

  /**
   * A generation's tables as a read database of their own (SQLite: its file under
   * DATA_DIR/read-models/<generation>/; PostgreSQL: its schema), created and migrated if new.
   * A replay builds a generation through it.
   */
  static openGeneration(options: ReadDbOptions, generation: string, poolSize = 2): Promise<ReadDb> {
    if (!options.readDbUrl)
      return ReadDb.open({ dataDir: generationDir(options.dataDir, generation) });
    const url = new URL(options.readDbUrl);
    const base = url.searchParams.get('schema') ?? 'public';
    url.searchParams.set('schema', generationSchema(base, generation));
    return ReadDb.open({ dataDir: options.dataDir, readDbUrl: url.toString(), poolSize });
  }

  /** The generation readers of this process use now (null: the base tables). */
  get generation(): string | null {
    return this.current;
  }

  /** What the generation tables are qualified with in queries (null: not at all). */
  private qualifier(): string | null {
    if (this.current === null) return null;
    return this.sqlite ? attachedName(this.current) : generationSchema(this.schema!, this.current);
  }

  /** The pointer as stored now (not this process's cached reading of it). */
  async readPointer(
    trx: Kysely<ReadDatabase> | Transaction<ReadDatabase> = this.db,
  ): Promise<{ generation: string | null; version: number }> {
    const row = await trx
      .selectFrom('rm_generation')
      .select(['generation', 'version'])
      .where('id', '=', 1)
      .executeTakeFirst();
    return { generation: row?.generation ?? null, version: Number(row?.version ?? 0) };
  }

  private async generationExists(generation: string): Promise<boolean> {
    if (this.sqlite) return existsSync(generationFile(this.options.dataDir, generation));
    const found = await sql<{ n: number }>`select 1 as n from pg_catalog.pg_namespace
      where nspname = ${generationSchema(this.schema!, generation)}`.execute(this.db);
    return found.rows.length > 0;
  }

  private generationLocation(generation: string): string {
    return this.sqlite
      ? generationFile(this.options.dataDir, generation)
      : `schema ${generationSchema(this.schema!, generation)}`;
  }

  /** Makes `generation` the one this process's queries name (never an older pointer). */
  private use(generation: string | null, version: number): void {
    if (version < this.version) return;
    this.version = version;
    this.moveTo(generation);
  }

  private moveTo(generation: string | null): void {
    if (generation === this.current) return;
    if (this.sqlite) this.attach(generation);
    this.current = generation;
  }

  /**
   * SQLite, as every query outside a transaction is prepared (PointerFollowingDatabase): the
   * pointer followed, the schema its generation is attached under (null: the base tables).
   */
  private followedSchema(): string | null {
    this.followSqlitePointer();
    return this.qualifier();
  }

  /**
   * SQLite: a read of the pointer row (a page in memory); when a replay moved it, the new
   * generation's file is attached and the old one detached. Inside a transaction the generation
   * stays the one it began with (a write checks it under the pointer's lock: `writeTransaction`).
   */
  private followSqlitePointer(): void {
    const conn = this.sqlite;
    if (!conn || conn.inTransaction || !conn.open) return;
    let row: { generation: string | null } | undefined;
    try {
      this.pointerQuery ??= conn.prepare('SELECT generation FROM main.rm_generation WHERE id = 1');
      row = this.pointerQuery.get() as typeof row;
    } catch {
      // No pointer table (a test took the schema back before migration 006): as it was.
      this.pointerQuery = null;
      return;
    }
    this.moveTo(row?.generation ?? null);
  }

  private async followPostgresPointer(): Promise<void> {
    const { generation, version } = await this.readPointer();
    this.use(generation, version);
  }

  private attach(generation: string | null): void {
    const conn = this.sqlite!;
    if (generation !== null) {
      const file = generationFile(this.options.dataDir, generation);
      // ATTACH would create a missing file: a generation is never attached that is not there.
      if (!existsSync(file)) throw new Error(`read models: generation ${generation} not found`);
      const name = attachedName(generation);
      this.stale.delete(name);
      if (!this.isAttached(name)) conn.prepare(`ATTACH DATABASE ? AS "${name}"`).run(file);
      for (const pragma of ['synchronous = NORMAL', 'secure_delete = ON', 'cache_size = -65536'])
        conn.pragma(`"${name}".${pragma}`);
      void this.generationCheckpointer?.stop();
      this.generationCheckpointer = new WalCheckpointer(file);
    }
    // The generation being left stays attached until the next switch (a statement prepared
    // before may still name it), and the one before it goes now.
    const previous = this.current === null ? null : attachedName(this.current);
    for (const name of [...this.stale]) if (name !== previous) this.detach(name);
    if (previous !== null) this.stale.add(previous);
  }

  /**
   * A write to the generation tables, in one transaction that first takes the pointer's lock
   * (shared on PostgreSQL; SQLite's write lock of the read database's file) and checks that the
   * generation it writes is still the current one. A replay's switch-over takes the same lock
   * exclusively: no write lands in a generation after readers have left it. Retried on the new
   * generation when the pointer moved.
   */
  writeTransaction<T>(fn: (trx: Transaction<ReadDatabase>) => Promise<T>): Promise<T> {
    return this.onCurrentGeneration((trx) => this.lockPointer(trx, 'share'), fn);
  }

  /**
   * `fn` in a transaction pinned to the generation this process uses, once `readPointer` (null:
   * no check) found the pointer still naming it inside the transaction; otherwise run again on
   * the generation the pointer names now.
   */
  private async onCurrentGeneration<T>(
    readPointer: (
      trx: Transaction<ReadDatabase>,
    ) => Promise<{ generation: string | null; version: number } | null>,
    fn: (trx: Transaction<ReadDatabase>) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.sqlite) this.followSqlitePointer();
      const expected = this.current;
      try {
        return await this.db.transaction().execute(async (trx) => {
          const actual = await readPointer(trx);
          if (actual && actual.generation !== expected)
            throw new GenerationMovedError(expected, actual.generation, actual.version);
          return fn(this.pinned(trx, expected));
        });
      } catch (error) {
        if (!(error instanceof GenerationMovedError) || attempt >= 3) throw error;
        this.use(error.actual, error.version);
      }
    }
  }

  /** Takes the pointer's lock in `trx` and reads it. */
  private async lockPointer(
    trx: Transaction<ReadDatabase>,
    mode: 'share' | 'update',
  ): Promise<{ generation: string | null; version: number }> {
    let row: { generation: string | null; version: number } | undefined;
    if (this.sqlite) {
      // The first write of the transaction takes the file's write lock (held to its end).
      row = await trx
        .updateTable('rm_generation')
        .set((eb) => ({ generation: eb.ref('generation') }))
        .where('id', '=', 1)
        .returning(['generation', 'version'])
        .executeTakeFirst();
    } else {
      const q = trx
        .selectFrom('rm_generation')
        .select(['generation', 'version'])
        .where('id', '=', 1);
      row = await (mode === 'share' ? q.forShare() : q.forUpdate()).executeTakeFirst();
    }
    return { generation: row?.generation ?? null, version: Number(row?.version ?? 0) };
  }

  /**
   * `trx` with its generation fixed: every query of the transaction names the same generation,
   * whatever the pointer does meanwhile (a PostgreSQL poll answering mid-transaction).
   */
  private pinned(
    trx: Transaction<ReadDatabase>,
    generation: string | null,
  ): Transaction<ReadDatabase> {
    const schema =
      generation === null
        ? null
        : this.sqlite
          ? attachedName(generation)
          : generationSchema(this.schema!, generation);
    return trx.withoutPlugins().withPlugin(new GenerationPlugin(() => schema));
  }

  /**
   * A transaction that reads (or writes tables outside the generations) with its generation
   * fixed for its whole length: a checkpoint and the rows it covers come from one generation.
   * SQLite: it checks the pointer again once it has begun (the read that fixes its snapshot): one
   * queued behind another on the one connection may begin after a switch-over dropped the tables
   * it was about to name, and is then run again on the new generation.
   */
  transaction<T>(fn: (trx: Transaction<ReadDatabase>) => Promise<T>): Promise<T> {
    return this.onCurrentGeneration(
      async (trx) => (this.sqlite ? this.readPointer(trx) : null),
      fn,
    );
  }

  /**
   * A replay's switch-over: holding the pointer's lock (every write to the read models waits),
   * `prepare` brings the new generation up to the live one, then the pointer names it.
   * Readers of every process move over from the commit on (SQLite: at their next query;
   * PostgreSQL: within GENERATION_POLL_MS). Returns the generation replaced.
   */
  async switchGeneration<T>(
    to: string,
    prepare: (s: GenerationSwitch) => Promise<T>,
  ): Promise<{ from: string | null; prepared: T }> {
    const toSchema = this.sqlite ? attachedName(to) : generationSchema(this.schema!, to);
    for (let attempt = 0; ; attempt++) {
      if (this.sqlite) this.followSqlitePointer();
      const expected = this.current;
      const fromSchema = this.qualifier() ?? (this.sqlite ? 'main' : this.schema!);
      try {
        const result = await this.db.transaction().execute(async (trx) => {
          if (!this.sqlite) await sql`set local lock_timeout = '20s'`.execute(trx);
          const pointer = await this.lockPointer(trx, 'update');
          const from = pointer.generation;
          if (from !== expected) throw new GenerationMovedError(expected, from, pointer.version);
          const fromFile = this.sqlite
            ? from === null
              ? this.location
              : generationFile(this.options.dataDir, from)
            : null;
          const prepared = await prepare({
            trx: this.pinned(trx, from),
            from,
            fromSchema,
            toSchema,
            fromFile,
          });
          await trx
            .updateTable('rm_generation')
            .set((eb) => ({
              generation: to,
              switched_at: new Date().toISOString(),
              version: eb('version', '+', 1),
            }))
            .where('id', '=', 1)
            .execute();
          return { from, prepared, version: pointer.version + 1 };
        });
        this.use(to, result.version);
        return { from: result.from, prepared: result.prepared };
      } catch (error) {
        if (!(error instanceof GenerationMovedError) || attempt >= 3) throw error;
        this.use(error.actual, error.version);
      }
    }
  }

  private isAttached(name: string): boolean {
    return (this.sqlite!.pragma('database_list') as { name: string }[]).some(
      (d) => d.name === name,
    );
  }

  /** SQLite: detaches a file now, or (a statement still reads it) at a later switch. */
  private detach(name: string): void {
    try {
      if (this.isAttached(name)) this.sqlite!.exec(`DETACH DATABASE "${name}"`);
      this.stale.delete(name);
    } catch {
      this.stale.add(name);
    }
  }

  /**
   * Drops a generation readers have left (null: the base tables of before the first replay).
   * PostgreSQL waits GENERATION_GRACE_MS first, for every process to follow the pointer.
   */
  async dropGeneration(
    generation: string | null,
    { graceMs = GENERATION_GRACE_MS }: { graceMs?: number } = {},
  ): Promise<void> {
    if (generation !== null && generation === this.current)
      throw new Error(`read models: generation ${generation} is the current one`);
    if (this.sqlite) {
      if (generation === null) {
        // Without overwriting the freed pages, which at a million rows held the write lock (every
        // writer's) for seconds: they keep the old rows, personal fields only as ciphertexts,
        // until reused, like the pages of any deleted row.
        this.sqlite.pragma('main.secure_delete = OFF');
        try {
          await this.db.transaction().execute(async (trx) => {
            for (const t of GENERATION_TABLES)
              await sql`drop table if exists main.${sql.id(t)}`.execute(trx);
          });
        } finally {
          this.sqlite.pragma('main.secure_delete = ON');
        }
      } else {
        const name = attachedName(generation);
        if (this.isAttached(name)) this.detach(name);
        removeGenerationDirectory(generationDir(this.options.dataDir, generation));
      }
      return;
    }
    if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
    if (generation === null) {
      for (const t of GENERATION_TABLES)
        await sql`drop table if exists ${sql.id(this.schema!)}.${sql.id(t)}`.execute(this.db);
    } else {
      await sql`drop schema if exists ${sql.id(generationSchema(this.schema!, generation))} cascade`.execute(
        this.db,
      );
    }
  }

  /**
   * Runs `fn` holding a transaction-scoped advisory lock for the schema, on a connection of its
   * own (outside the pool, so that a pool of one connection cannot deadlock): processes opening
   * the same schema at once create it and migrate it one after the other (concurrent
   * `CREATE SCHEMA IF NOT EXISTS` fails on pg_namespace's unique index otherwise). The server
   * releases the lock when the transaction ends, also when this process dies.
   */
  private static async whileLocked(
    url: string,
    schema: string,
    fn: () => Promise<void>,
  ): Promise<void> {
    const client = await connectDedicated(url);
    try {
      await client.query('BEGIN');
      // This transaction sits idle while the pool's connections migrate: a server-wide
      // idle_in_transaction_session_timeout must not end it (releasing the lock) midway.
      await client.query('SET LOCAL idle_in_transaction_session_timeout = 0');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('rm_migrations'), hashtext($1))", [
        schema,
      ]);
      await fn();
      await client.query('COMMIT');
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private static openSqlite(
    file: string,
    followedSchema: () => string | null,
    options: ReadDbOptions,
  ): ReadDb {
    mkdirSync(dirname(file), { recursive: true });
    const database = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    try {
      database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      switchToWal(database, BUSY_TIMEOUT_MS);
      // Derived data: NORMAL is enough (a lost last commit is projected again from the log, the
      // checkpoint lives in the same transaction). secure_delete: scrubbed bytes leave the pages.
      database.pragma('synchronous = NORMAL');
      database.pragma('secure_delete = ON');
      database.pragma('foreign_keys = ON');
      // The audit table carries six B-trees (rows and one index per filter): a larger page cache
      // and memory-mapped reads keep projection and deep pages off the disk.
      database.pragma('cache_size = -65536');
      database.pragma('mmap_size = 268435456');
      database.pragma('temp_store = MEMORY');
      // Planner statistics (which index is selective: an account beats an event type); bounded.
      database.pragma('analysis_limit = 1000');
      // The projector commits often while API processes read: checkpoints run in a thread of
      // their own rather than inside the projector's commits (see WalCheckpointer).
      database.pragma('wal_autocheckpoint = 0');
    } catch (error) {
      database.close();
      throw error;
    }
    const db = new Kysely<ReadDatabase>({
      dialect: new SqliteDialect({
        database: new PointerFollowingDatabase(database, followedSchema),
      }),
      plugins: [new GenerationPlugin(() => UNRESOLVED_GENERATION)],
    });
    return new ReadDb(db, 'sqlite', null, database, file, new WalCheckpointer(file), options);
  }

  /** The pool and its Kysely; `open` creates the schema (under a lock) before migrating. */
  private static openPostgres(
    url: string,
    poolSize: number,
    plugin: GenerationPlugin,
    options: ReadDbOptions,
  ): ReadDb {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema') ?? 'public';
    if (!SCHEMA_NAME.test(schema))
      throw new Error('READ_DB_URL: schema must be lower-case letters, digits and _ (max 63)');
    parsed.searchParams.delete('schema');
    const pool = new Pool({
      connectionString: parsed.toString(),
      max: poolSize,
      options: `-c search_path=${schema}`,
      // A dead server fails requests quickly instead of queueing them for ever.
      connectionTimeoutMillis: 5000,
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const db = new Kysely<ReadDatabase>({
      dialect: new PostgresDialect({ pool }),
      plugins: [plugin],
    });
    const location = `postgres://${parsed.host}${parsed.pathname}#${schema}`;
    return new ReadDb(db, 'postgres', schema, null, location, null, options);
  }

  /** A position as a query parameter: a number for SQLite (INTEGER), a string for PostgreSQL. */
  pos(position: bigint): number | string {
    return this.dialect === 'sqlite' ? Number(position) : position.toString();
  }

  /**
   * Refreshes the query planner's statistics (SQLite: `PRAGMA optimize`, only when the tables
   * changed enough; PostgreSQL: `ANALYZE`, which autovacuum also runs on its own). Without them
   * the planner cannot tell that `account_id = ?` is far more selective than `type IN (…)`.
   */
  async optimize(): Promise<void> {
    if (this.sqlite) this.sqlite.pragma('optimize');
    else {
      const schema = this.qualifier() ?? this.schema!;
      await sql`ANALYZE ${sql.join(
        ['rm_audit_events', 'rm_subscriptions', 'rm_purge_receipts', 'rm_confirmations'].map(
          (t) => sql`${sql.id(schema)}.${sql.id(t)}`,
        ),
      )}`.execute(this.db);
    }
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /**
   * SQLite: moves the WAL into the main file and truncates it, so that bytes just deleted or
   * overwritten (with secure_delete on) leave the disk; true once done. PostgreSQL: nothing
   * (VACUUM is the server's business).
   */
  async compact(): Promise<boolean> {
    if (!this.sqlite) return true;
    // Another connection (the worker process, a long export) may hold a read snapshot for a
    // moment: retry briefly; false when the WAL could still not be emptied.
    for (let attempt = 0; attempt < 20; attempt++) {
      // Without a schema: every attached file (the generation's too).
      const [result] = this.sqlite.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (!result || result.busy === 0) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  /** The SQLite file holding the read models (for tests that scan bytes), null on PostgreSQL. */
  get file(): string | null {
    if (!this.sqlite) return null;
    return this.current === null
      ? this.location
      : generationFile(this.options.dataDir, this.current);
  }

  async close(): Promise<void> {
    if (this.pointerPoll) clearInterval(this.pointerPoll);
    await this.generationCheckpointer?.stop();
    await this.checkpointer?.stop();
    await this.db.destroy();
  }
}
