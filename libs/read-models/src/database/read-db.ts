import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Pool } from 'pg';
import { migrateReadModels } from './migrations';
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
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The read database: Kysely over better-sqlite3 (embedded default, a file under DATA_DIR) or over
 * a pg Pool (READ_DB_URL). Migrated to the latest schema when opened.
 */
export class ReadDb {
  private constructor(
    readonly db: Kysely<ReadDatabase>,
    readonly dialect: ReadDialect,
    /** PostgreSQL schema of the tables, null for SQLite. */
    readonly schema: string | null,
    private readonly sqlite: Database.Database | null,
    /** Where the data lives, without credentials (for logs and health output). */
    readonly location: string,
  ) {}

  static async open(options: ReadDbOptions): Promise<ReadDb> {
    const readDb = options.readDbUrl
      ? await ReadDb.openPostgres(options.readDbUrl, options.poolSize ?? 10)
      : ReadDb.openSqlite(join(options.dataDir, 'read-models.sqlite'));
    try {
      await migrateReadModels(readDb.db as Kysely<unknown>, readDb.dialect, readDb.schema);
      // SQLite 0x10002: on open, analyse every table whose statistics are missing or stale.
      if (readDb.sqlite) readDb.sqlite.pragma('optimize = 0x10002');
      else await readDb.optimize();
    } catch (error) {
      await readDb.close();
      throw error;
    }
    return readDb;
  }

  private static openSqlite(file: string): ReadDb {
    mkdirSync(dirname(file), { recursive: true });
    const database = new Database(file);
    // Derived data: NORMAL is enough (a lost last commit is projected again from the log, the
    // checkpoint lives in the same transaction). secure_delete: scrubbed bytes leave the pages.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('secure_delete = ON');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    // The audit table carries six B-trees (rows and one index per filter): a larger page cache
    // and memory-mapped reads keep projection and deep pages off the disk.
    database.pragma('cache_size = -65536');
    database.pragma('mmap_size = 268435456');
    database.pragma('temp_store = MEMORY');
    // Planner statistics (which index is selective: an account beats an event type); bounded cost.
    database.pragma('analysis_limit = 1000');
    const db = new Kysely<ReadDatabase>({ dialect: new SqliteDialect({ database }) });
    return new ReadDb(db, 'sqlite', null, database, file);
  }

  private static async openPostgres(url: string, poolSize: number): Promise<ReadDb> {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema') ?? 'public';
    if (!SCHEMA_NAME.test(schema))
      throw new Error('READ_DB_URL: schema must be lower-case letters, digits and _ (max 63)');
    parsed.searchParams.delete('schema');
    if (schema !== 'public') {
      // Created before the pool pins search_path to it.
      const setup = new Pool({ connectionString: parsed.toString(), max: 1 });
      try {
        await setup.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      } finally {
        await setup.end();
      }
    }
    const pool = new Pool({
      connectionString: parsed.toString(),
      max: poolSize,
      options: `-c search_path=${schema}`,
      // A dead server fails requests quickly instead of queueing them for ever.
      connectionTimeoutMillis: 5000,
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const db = new Kysely<ReadDatabase>({ dialect: new PostgresDialect({ pool }) });
    const location = `postgres://${parsed.host}${parsed.pathname}#${schema}`;
    return new ReadDb(db, 'postgres', schema, null, location);
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
    else
      await sql`ANALYZE rm_audit_events, rm_subscriptions, rm_purge_receipts, rm_confirmations`.execute(
        this.db,
      );
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
      const [result] = this.sqlite.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (!result || result.busy === 0) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  /** The SQLite file (for tests that scan bytes), null on PostgreSQL. */
  get file(): string | null {
    return this.sqlite ? this.location : null;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
