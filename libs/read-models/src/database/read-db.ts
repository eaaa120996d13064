import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Pool } from 'pg';
import { WalCheckpointer, switchToWal } from '@app/event-store';
import { connectDedicated } from './dedicated-connection';
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
  /** PostgreSQL pool size (default 8). */
  poolSize?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** SQLite: how long a statement waits for another process's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

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
    private readonly checkpointer: WalCheckpointer | null = null,
  ) {}

  static async open(options: ReadDbOptions): Promise<ReadDb> {
    const readDb = options.readDbUrl
      ? ReadDb.openPostgres(options.readDbUrl, options.poolSize ?? 8)
      : ReadDb.openSqlite(join(options.dataDir, 'read-models.sqlite'));
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
        await readDb.optimize();
      }
    } catch (error) {
      await readDb.close();
      throw error;
    }
    return readDb;
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

  private static openSqlite(file: string): ReadDb {
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
    const db = new Kysely<ReadDatabase>({ dialect: new SqliteDialect({ database }) });
    return new ReadDb(db, 'sqlite', null, database, file, new WalCheckpointer(file));
  }

  /** The pool and its Kysely; `open` creates the schema (under a lock) before migrating. */
  private static openPostgres(url: string, poolSize: number): ReadDb {
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
    await this.checkpointer?.stop();
    await this.db.destroy();
  }
}
