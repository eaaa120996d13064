import { randomBytes } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import {
  openSqliteDatabase,
  SqliteConnectionOptions,
  SqliteDatabase,
  truncateWal,
} from '../sqlite/sqlite-connection';
import {
  DataKey,
  DataKeyAccountMismatchError,
  DataKeyDestroyedError,
  KeyShreddingIncompleteError,
  KeyStore,
} from './key-store.port';
import { storedKeyBytes, wrapDataKey } from './key-wrapping';
import { GroupCommitQueue, type Outcome } from '../group-commit';

export interface SqliteKeyStoreOptions extends SqliteConnectionOptions {
  /** 32-byte master key (KEY_ENCRYPTION_KEY); when set, data keys are stored wrapped under it. */
  keyEncryptionKey?: Buffer;
  now?: () => Date;
}

interface KeyRow {
  key_id: string;
  account_id: string;
  material: Buffer;
  wrapped: number;
}

/**
 * Keys live in their own SQLite file (not the event log's): destroying one ends with a TRUNCATE
 * checkpoint, which long-lived readers of a shared file (subscriptions) would keep blocking.
 * secure_delete=ON (set by openSqliteDatabase) zeroes the deleted row in place; the checkpoint
 * then removes the old page images from the WAL. Destroyed ids stay as tombstones (no key bytes)
 * so a shredded key can never be silently re-created.
 */
export class SqliteKeyStore implements KeyStore {
  private readonly db: SqliteDatabase;
  private readonly kek: Buffer | undefined;
  private readonly now: () => Date;
  private readonly q: {
    get: Statement<[string]>;
    insert: Statement<[string, string, Buffer, number, string]>;
    tombstone: Statement<[string]>;
    bury: Statement<[string, string, string]>;
    remove: Statement<[string]>;
    listAccount: Statement<[string]>;
  };
  private readonly creations = new GroupCommitQueue<{ keyId: string; accountId: string }, KeyRow>(
    (batch) => this.createBatch(batch),
    256,
  );

  static open(filePath: string, options: SqliteKeyStoreOptions = {}): SqliteKeyStore {
    return new SqliteKeyStore(filePath, options);
  }

  private constructor(
    readonly filePath: string,
    options: SqliteKeyStoreOptions,
  ) {
    if (options.keyEncryptionKey && options.keyEncryptionKey.length !== 32) {
      throw new Error('keyEncryptionKey must be 32 bytes');
    }
    this.kek = options.keyEncryptionKey;
    this.now = options.now ?? (() => new Date());
    this.db = openSqliteDatabase(filePath, options);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS data_keys (
        key_id     TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        material   BLOB NOT NULL,
        wrapped    INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS data_keys_by_account ON data_keys (account_id);
      CREATE TABLE IF NOT EXISTS destroyed_keys (
        key_id       TEXT PRIMARY KEY,
        account_id   TEXT NOT NULL,
        destroyed_at TEXT NOT NULL
      );
    `);
    const db = this.db;
    this.q = {
      get: db.prepare(
        'SELECT key_id, account_id, material, wrapped FROM data_keys WHERE key_id = ?',
      ),
      insert: db.prepare(
        'INSERT INTO data_keys (key_id, account_id, material, wrapped, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      tombstone: db.prepare('SELECT 1 FROM destroyed_keys WHERE key_id = ?').pluck(),
      bury: db.prepare(
        'INSERT OR IGNORE INTO destroyed_keys (key_id, account_id, destroyed_at) VALUES (?, ?, ?)',
      ),
      remove: db.prepare('DELETE FROM data_keys WHERE key_id = ?'),
      listAccount: db
        .prepare('SELECT key_id FROM data_keys WHERE account_id = ? ORDER BY key_id')
        .pluck(),
    };
  }

  async getOrCreate(keyId: string, accountId: string): Promise<DataKey> {
    // Fast path without the write lock: almost every call finds an existing key.
    const existing = this.q.get.get(keyId) as KeyRow | undefined;
    const row = existing ?? (await this.creations.enqueue({ keyId, accountId }));
    if (row.account_id !== accountId) throw new DataKeyAccountMismatchError(keyId);
    return this.toDataKey(row);
  }

  /**
   * Creates keys for a batch of requests in one IMMEDIATE transaction (one fsync for all the
   * cancellations that needed a new key in the same turn of the event loop). IMMEDIATE: two
   * processes creating the same key concurrently must end up with one key.
   */
  private createBatch(batch: readonly { keyId: string; accountId: string }[]): Outcome<KeyRow>[] {
    return this.db
      .transaction((): Outcome<KeyRow>[] =>
        batch.map(({ keyId, accountId }) => {
          const existing = this.q.get.get(keyId) as KeyRow | undefined;
          if (existing) return { ok: true, value: existing };
          if (this.q.tombstone.get(keyId))
            return { ok: false, error: new DataKeyDestroyedError(keyId) };
          const key = randomBytes(32);
          const material = this.kek ? wrapDataKey(this.kek, keyId, accountId, key) : key;
          this.q.insert.run(keyId, accountId, material, this.kek ? 1 : 0, this.now().toISOString());
          return {
            ok: true,
            value: { key_id: keyId, account_id: accountId, material, wrapped: this.kek ? 1 : 0 },
          };
        }),
      )
      .immediate();
  }

  async get(keyId: string): Promise<DataKey | null> {
    const row = this.q.get.get(keyId) as KeyRow | undefined;
    return row ? this.toDataKey(row) : null;
  }

  async destroy(keyId: string): Promise<boolean> {
    const existed = this.db
      .transaction(() => {
        const row = this.q.get.get(keyId) as KeyRow | undefined;
        if (!row) return false;
        this.q.remove.run(keyId);
        this.q.bury.run(keyId, row.account_id, this.now().toISOString());
        return true;
      })
      .immediate();
    await this.shred();
    return existed;
  }

  async destroyAccount(accountId: string): Promise<string[]> {
    const ids = this.db
      .transaction(() => {
        const keyIds = this.q.listAccount.all(accountId) as string[];
        const at = this.now().toISOString();
        for (const id of keyIds) {
          this.q.remove.run(id);
          this.q.bury.run(id, accountId, at);
        }
        return keyIds;
      })
      .immediate();
    await this.shred();
    return ids;
  }

  async listAccount(accountId: string): Promise<string[]> {
    return this.q.listAccount.all(accountId) as string[];
  }

  async close(): Promise<void> {
    if (this.db.open) {
      this.creations.flush();
      this.db.close();
    }
  }

  /** Gets the deleted key bytes out of the WAL (secure_delete already zeroed the table pages). */
  private async shred(): Promise<void> {
    const r = await truncateWal(this.db);
    if (r.busy !== 0) throw new KeyShreddingIncompleteError(this.filePath);
  }

  private toDataKey(row: KeyRow): DataKey {
    return { keyId: row.key_id, accountId: row.account_id, key: storedKeyBytes(this.kek, row) };
  }
}
