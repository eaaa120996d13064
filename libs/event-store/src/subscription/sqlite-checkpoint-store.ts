import type { Statement } from 'better-sqlite3';
import { positionFromString, positionToString } from '../event-store.port';
import {
  openSqliteDatabase,
  SqliteConnectionOptions,
  SqliteDatabase,
} from '../sqlite/sqlite-connection';
import { CheckpointStore } from './checkpoint-store.port';

/**
 * Checkpoints in a SQLite file: the event log's own file (they then share its durability) or a
 * separate one (e.g. next to a read model, so model and checkpoint can be reset together).
 */
export class SqliteCheckpointStore implements CheckpointStore {
  private readonly db: SqliteDatabase;
  private readonly loadStmt: Statement<[string]>;
  private readonly saveStmt: Statement<[string, string]>;
  private readonly resetStmt: Statement<[string]>;

  static open(filePath: string, options: SqliteConnectionOptions = {}): SqliteCheckpointStore {
    return new SqliteCheckpointStore(openSqliteDatabase(filePath, options));
  }

  private constructor(db: SqliteDatabase) {
    this.db = db;
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position TEXT NOT NULL)',
    );
    this.loadStmt = db.prepare<[string]>('SELECT position FROM checkpoints WHERE name = ?').pluck();
    this.saveStmt = db.prepare<[string, string]>(
      'INSERT INTO checkpoints (name, position) VALUES (?, ?) ' +
        'ON CONFLICT (name) DO UPDATE SET position = excluded.position',
    );
    this.resetStmt = db.prepare<[string]>('DELETE FROM checkpoints WHERE name = ?');
  }

  async load(name: string): Promise<bigint | null> {
    const s = this.loadStmt.get(name) as string | undefined;
    return s === undefined ? null : positionFromString(s);
  }

  async save(name: string, position: bigint): Promise<void> {
    this.saveStmt.run(name, positionToString(position));
  }

  async reset(name: string): Promise<void> {
    this.resetStmt.run(name);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
