import { join } from 'node:path';
import { DateTime } from 'luxon';
import { openSqliteDatabase, type SqliteDatabase } from '@app/event-store';
import { type AppConfig, ClockBackwardsError, type ClockStore } from '@app/platform';
import { SharedTable } from './shared-table';

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
  private readonly table: SharedTable;

  constructor(url: string) {
    this.table = new SharedTable(
      url,
      'controlled_clock',
      'CREATE TABLE IF NOT EXISTS $table (id int PRIMARY KEY CHECK (id = 1), now_ms bigint NOT NULL)',
      1,
    );
  }

  async load(): Promise<DateTime | null> {
    await this.table.ready();
    const r = await this.table.pool.query<{ now_ms: string }>(
      `SELECT now_ms FROM ${this.table.name} WHERE id = 1`,
    );
    return r.rows[0] ? fromMs(r.rows[0].now_ms) : null;
  }

  async moveTo(to: DateTime): Promise<DateTime> {
    await this.table.ready();
    // One statement: the row moves only forward, whoever moves it at the same time.
    const r = await this.table.pool.query<{ now_ms: string }>(
      `INSERT INTO ${this.table.name} AS c (id, now_ms) VALUES (1, $1) ON CONFLICT (id) DO UPDATE
         SET now_ms = excluded.now_ms WHERE c.now_ms <= excluded.now_ms
       RETURNING now_ms`,
      [to.toMillis()],
    );
    if (r.rows[0]) return fromMs(r.rows[0].now_ms);
    const stored = await this.load();
    throw new ClockBackwardsError(stored ?? to, to);
  }

  close(): Promise<void> {
    return this.table.close();
  }
}
