import { join } from 'node:path';
import { IdempotencyKeyReusedError } from '@app/command-handling';
import { openSqliteDatabase, type SqliteDatabase } from '@app/event-store';
import type { AppConfig } from '@app/platform';
import { SharedTable } from './shared-table';

/** How long a key stays bound to its stream and request (docs/http-api.md asks for at least 24 hours). */
export const IDEMPOTENCY_KEY_RETENTION_MS = 7 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;

/**
 * Binds each client Idempotency-Key (already scoped per calling service) to the first stream and
 * request it came with, across streams: the log answers a repeated key within one stream (the
 * events carry it), but only this registry sees the same key sent for another stream. A key is
 * claimed before the command runs; of concurrent requests with one key the first claim wins and
 * the others, if they name another stream or another body, are refused.
 */
export interface IdempotencyKeys {
  /**
   * Claims `commandId` for this stream and request, or finds it claimed by the same: resolves.
   * Claimed for another stream or another request: rejects with IdempotencyKeyReusedError.
   */
  claim(commandId: string, streamId: string, requestHash: string): Promise<void>;
  close(): Promise<void>;
}

/** PostgreSQL with READ_DB_URL (shared by every api), else DATA_DIR/idempotency.sqlite. */
export function openIdempotencyKeys(
  config: Pick<AppConfig, 'dataDir' | 'readDbUrl'>,
): IdempotencyKeys {
  return config.readDbUrl
    ? new PostgresIdempotencyKeys(config.readDbUrl)
    : new SqliteIdempotencyKeys(join(config.dataDir, 'idempotency.sqlite'));
}

interface Claimed {
  stream_id: string;
  request_hash: string;
}

function check(commandId: string, streamId: string, requestHash: string, held: Claimed): void {
  if (held.stream_id !== streamId || held.request_hash !== requestHash)
    throw new IdempotencyKeyReusedError(commandId);
}

export class SqliteIdempotencyKeys implements IdempotencyKeys {
  private readonly db: SqliteDatabase;
  private readonly claimOne: (c: string, s: string, h: string, now: number) => Claimed;
  private readonly prune: (before: number) => void;
  private prunedAt = 0;

  constructor(file: string) {
    this.db = openSqliteDatabase(file);
    this.db.exec(`CREATE TABLE IF NOT EXISTS idempotency_keys (
      command_id TEXT PRIMARY KEY, stream_id TEXT NOT NULL, request_hash TEXT NOT NULL,
      claimed_at INTEGER NOT NULL)`);
    const insert = this.db.prepare(
      'INSERT INTO idempotency_keys VALUES (?, ?, ?, ?) ON CONFLICT (command_id) DO NOTHING',
    );
    const read = this.db.prepare(
      'SELECT stream_id, request_hash FROM idempotency_keys WHERE command_id = ?',
    );
    this.claimOne = this.db.transaction((c: string, s: string, h: string, now: number) => {
      insert.run(c, s, h, now);
      return read.get(c) as Claimed;
    });
    const del = this.db.prepare('DELETE FROM idempotency_keys WHERE claimed_at < ?');
    this.prune = (before) => void del.run(before);
  }

  async claim(commandId: string, streamId: string, requestHash: string): Promise<void> {
    const now = Date.now();
    if (now - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = now;
      this.prune(now - IDEMPOTENCY_KEY_RETENTION_MS);
    }
    check(commandId, streamId, requestHash, this.claimOne(commandId, streamId, requestHash, now));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

export class PostgresIdempotencyKeys implements IdempotencyKeys {
  private readonly table: SharedTable;
  private prunedAt = 0;

  constructor(url: string) {
    this.table = new SharedTable(
      url,
      'idempotency_keys',
      `CREATE TABLE IF NOT EXISTS $table (
         command_id text PRIMARY KEY, stream_id text NOT NULL, request_hash text NOT NULL,
         claimed_at timestamptz NOT NULL DEFAULT now())`,
      2,
    );
  }

  async claim(commandId: string, streamId: string, requestHash: string): Promise<void> {
    await this.table.ready();
    const pool = this.table.pool;
    if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = Date.now();
      await pool.query(
        `DELETE FROM ${this.table.name} WHERE claimed_at < now() - $1 * interval '1 millisecond'`,
        [IDEMPOTENCY_KEY_RETENTION_MS],
      );
    }
    // One round trip: the row just inserted, or the one a first claim left.
    const r = await pool.query<Claimed>(
      `WITH ins AS (
         INSERT INTO ${this.table.name} (command_id, stream_id, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT (command_id) DO NOTHING RETURNING stream_id, request_hash)
       SELECT stream_id, request_hash FROM ins
       UNION ALL
       SELECT stream_id, request_hash FROM ${this.table.name} WHERE command_id = $1
       LIMIT 1`,
      [commandId, streamId, requestHash],
    );
    // A claim committed while this statement ran is not in its snapshot: read it afresh.
    const held =
      r.rows[0] ??
      (
        await pool.query<Claimed>(
          `SELECT stream_id, request_hash FROM ${this.table.name} WHERE command_id = $1`,
          [commandId],
        )
      ).rows[0];
    if (!held) throw new Error(`idempotency key ${commandId}: neither claimed nor found`);
    check(commandId, streamId, requestHash, held);
  }

  close(): Promise<void> {
    return this.table.close();
  }
}
