import { join } from 'node:path';
import { DateTime } from 'luxon';
import { Pool } from 'pg';
import { openSqliteDatabase, parsePostgresUrl, type SqliteDatabase } from '@app/event-store';
import { type AppConfig, ClockBackwardsError, type ClockStore } from '@app/platform';

const fromMs = (ms: number | string): DateTime => DateTime.fromMillis(Number(ms), { zone: 'utc' });

/** The controlled clock's reading: PostgreSQL when READ_DB_URL is set, else DATA_DIR's file. */
export function openClockStore(config: Pick<AppConfig, 'dataDir' | 'readDbUrl'>): ClockStore {
  return config.readDbUrl
    ? new PostgresClockStore(config.readDbUrl)
    : new SqliteClockStore(join(config.dataDir, 'controlled-clock.sqlite'));
}

/** DATA_DIR/controlled-clock.sqlite: one row, fsynced (a restart must never read an earlier time). */
export class SqliteClockStore implements ClockStore {
  private readonly db: SqliteDatabase;
  private readonly move: (toMs: number) => number;

  constructor(file: string) {
    this.db = openSqliteDatabase(file);
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS controlled_clock (id INTEGER PRIMARY KEY CHECK (id = 1), now_ms INTEGER NOT NULL)',
    );
    const read = this.db.prepare('SELECT now_ms FROM controlled_clock WHERE id = 1').pluck();
    const write = this.db.prepare(
      'INSERT INTO controlled_clock (id, now_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET now_ms = excluded.now_ms',
    );
    const move = this.db.transaction((toMs: number): number => {
      const stored = read.get() as number | undefined;
      if (stored !== undefined && stored > toMs)
        throw new ClockBackwardsError(fromMs(stored), fromMs(toMs));
      write.run(toMs);
      return toMs;
    });
    this.move = (toMs) => move.immediate(toMs);
    this.read = () => read.get() as number | undefined;
  }

  private readonly read: () => number | undefined;

  async load(): Promise<DateTime | null> {
    const ms = this.read();
    return ms === undefined ? null : fromMs(ms);
  }

  async moveTo(to: DateTime): Promise<DateTime> {
    return fromMs(this.move(to.toMillis()));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** One row in READ_DB_URL's schema, shared by every api and worker of the deployment. */
export class PostgresClockStore implements ClockStore {
  private readonly pool: Pool;
  private readonly table: string;
  private readonly schema: string;
  private ready: Promise<void> | null = null;

  constructor(url: string) {
    const target = parsePostgresUrl(url);
    this.schema = target.schema;
    this.table = `"${target.schema}".controlled_clock`;
    this.pool = new Pool({
      connectionString: target.connectionString,
      max: 1,
      connectionTimeoutMillis: 5000,
    });
    this.pool.on('error', () => undefined);
  }

  private migrate(): Promise<void> {
    // Processes starting together take turns (CREATE … IF NOT EXISTS is not safe concurrently).
    this.ready ??= (async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        // The lock the read models and the schedule migrate their schema under: whoever creates
        // the schema first, the others wait (concurrent CREATE SCHEMA IF NOT EXISTS collides).
        await client.query(
          "SELECT pg_advisory_xact_lock(hashtext('rm_migrations'), hashtext($1))",
          [this.schema],
        );
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${this.table} (id int PRIMARY KEY CHECK (id = 1), now_ms bigint NOT NULL)`,
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        this.ready = null;
        throw error;
      } finally {
        client.release();
      }
    })();
    return this.ready;
  }

  async load(): Promise<DateTime | null> {
    await this.migrate();
    const r = await this.pool.query<{ now_ms: string }>(
      `SELECT now_ms FROM ${this.table} WHERE id = 1`,
    );
    return r.rows[0] ? fromMs(r.rows[0].now_ms) : null;
  }

  async moveTo(to: DateTime): Promise<DateTime> {
    await this.migrate();
    // One statement: the row moves only forward, whoever moves it at the same time.
    const r = await this.pool.query<{ now_ms: string }>(
      `INSERT INTO ${this.table} AS c (id, now_ms) VALUES (1, $1) ON CONFLICT (id) DO UPDATE
         SET now_ms = excluded.now_ms WHERE c.now_ms <= excluded.now_ms
       RETURNING now_ms`,
      [to.toMillis()],
    );
    if (r.rows[0]) return fromMs(r.rows[0].now_ms);
    const stored = await this.load();
    throw new ClockBackwardsError(stored ?? to, to);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
