import { randomBytes } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import {
  type DataKey,
  DataKeyAccountMismatchError,
  DataKeyDestroyedError,
  type KeyStore,
} from './key-store.port';
import { storedKeyBytes, wrapDataKey } from './key-wrapping';

export interface PostgresKeyStoreOptions {
  /** postgres://… (READ_DB_URL in production: keys live beside the read models). */
  connectionString: string;
  /** Schema for the two tables (tests use their own); created if missing. */
  schema?: string;
  keyEncryptionKey?: Buffer;
}

interface KeyRow {
  key_id: string;
  account_id: string;
  material: Buffer;
  wrapped: boolean;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Data keys in PostgreSQL, shared by every replica (the SQLite key store is one machine's file).
 * Same contract as SqliteKeyStore: created once (INSERT … ON CONFLICT under a unique key), destroyed
 * keys leave a tombstone so they are never re-created, and a destroyed key's row is deleted and the
 * table vacuumed so its bytes do not linger in live pages. PostgreSQL may keep old page images in
 * its WAL and backups until they are recycled; set KEY_ENCRYPTION_KEY so that whatever lingers is
 * wrapped under a master key that never touches the database.
 */
export class PostgresKeyStore implements KeyStore {
  private readonly pool: Pool;
  private readonly schema: string;
  private ready: Promise<void> | null = null;
  private vacuumRunning: Promise<void> | null = null;
  private vacuumNext: Promise<void> | null = null;

  constructor(private readonly o: PostgresKeyStoreOptions) {
    this.schema = o.schema ?? 'public';
    if (!IDENT.test(this.schema))
      throw new Error(`invalid schema name ${JSON.stringify(this.schema)}`);
    if (o.keyEncryptionKey && o.keyEncryptionKey.length !== 32)
      throw new Error('keyEncryptionKey must be 32 bytes');
    this.pool = new Pool({ connectionString: o.connectionString, max: 3 });
  }

  private t(name: 'data_keys' | 'destroyed_keys'): string {
    return `"${this.schema}".${name}`;
  }

  private migrate(): Promise<void> {
    // IF NOT EXISTS is not safe against a concurrent CREATE in PostgreSQL: replicas starting
    // together take turns under a transaction-scoped advisory lock.
    this.ready ??= this.inTransaction(async (c) => {
      // The lock every part that creates tables in a READ_DB_URL schema takes (read models,
      // schedule, clock): whoever creates the schema first, the others wait.
      await c.query("SELECT pg_advisory_xact_lock(hashtext('rm_migrations'), hashtext($1))", [
        this.schema,
      ]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${this.t('data_keys')} (
          key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, material BYTEA NOT NULL,
          wrapped BOOLEAN NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE INDEX IF NOT EXISTS data_keys_by_account ON ${this.t('data_keys')} (account_id);
        CREATE TABLE IF NOT EXISTS ${this.t('destroyed_keys')} (
          key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, destroyed_at TIMESTAMPTZ NOT NULL DEFAULT now());`);
    });
    return this.ready;
  }

  async getOrCreate(keyId: string, accountId: string): Promise<DataKey> {
    await this.migrate();
    let row = await this.row(this.pool, keyId);
    if (!row) {
      row = await this.inTransaction(async (c) => {
        // Serialises creation and destruction of one id across replicas.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [keyId]);
        const existing = await this.row(c, keyId);
        if (existing) return existing;
        const buried = await c.query(
          `SELECT 1 FROM ${this.t('destroyed_keys')} WHERE key_id = $1`,
          [keyId],
        );
        if (buried.rowCount) throw new DataKeyDestroyedError(keyId);
        const key = randomBytes(32);
        const kek = this.o.keyEncryptionKey;
        const material = kek ? wrapDataKey(kek, keyId, accountId, key) : key;
        await c.query(
          `INSERT INTO ${this.t('data_keys')} (key_id, account_id, material, wrapped) VALUES ($1, $2, $3, $4)`,
          [keyId, accountId, material, !!kek],
        );
        return { key_id: keyId, account_id: accountId, material, wrapped: !!kek };
      });
    }
    if (row.account_id !== accountId) throw new DataKeyAccountMismatchError(keyId);
    return this.toDataKey(row);
  }

  async get(keyId: string): Promise<DataKey | null> {
    await this.migrate();
    const row = await this.row(this.pool, keyId);
    return row ? this.toDataKey(row) : null;
  }

  async destroy(keyId: string): Promise<boolean> {
    await this.migrate();
    const existed = await this.inTransaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [keyId]);
      const deleted = await c.query<{ account_id: string }>(
        `DELETE FROM ${this.t('data_keys')} WHERE key_id = $1 RETURNING account_id`,
        [keyId],
      );
      const accountId = deleted.rows[0]?.account_id;
      if (accountId === undefined) return false;
      await c.query(
        `INSERT INTO ${this.t('destroyed_keys')} (key_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [keyId, accountId],
      );
      return true;
    });
    await this.vacuum();
    return existed;
  }

  async destroyAccount(accountId: string): Promise<string[]> {
    await this.migrate();
    const ids = await this.inTransaction(async (c) => {
      const deleted = await c.query<{ key_id: string }>(
        `DELETE FROM ${this.t('data_keys')} WHERE account_id = $1 RETURNING key_id`,
        [accountId],
      );
      const keyIds = deleted.rows.map((r) => r.key_id).sort();
      for (const id of keyIds)
        await c.query(
          `INSERT INTO ${this.t('destroyed_keys')} (key_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
          [id, accountId],
        );
      return keyIds;
    });
    await this.vacuum();
    return ids;
  }

  async listAccount(accountId: string): Promise<string[]> {
    await this.migrate();
    const r = await this.pool.query<{ key_id: string }>(
      `SELECT key_id FROM ${this.t('data_keys')} WHERE account_id = $1 ORDER BY key_id`,
      [accountId],
    );
    return r.rows.map((x) => x.key_id);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async row(c: Pool | PoolClient, keyId: string): Promise<KeyRow | null> {
    const r = await c.query<KeyRow>(
      `SELECT key_id, account_id, material, wrapped FROM ${this.t('data_keys')} WHERE key_id = $1`,
      [keyId],
    );
    return r.rows[0] ?? null;
  }

  private toDataKey(row: KeyRow): DataKey {
    return {
      keyId: row.key_id,
      accountId: row.account_id,
      key: storedKeyBytes(this.o.keyEncryptionKey, row),
    };
  }

  /**
   * Prunes the table's pages so deleted key rows leave the live heap (not run in a transaction).
   * Resolves once a VACUUM that started after this call has finished: a destroy waits for one
   * that covers its delete. Calls meanwhile share the next run, so a burst of purges runs one
   * VACUUM at a time per process, not one each (concurrent VACUUMs of one table queue on its
   * lock). `TRUNCATE false`: giving empty end pages back to the OS would take an exclusive lock
   * that stalls every insert of a new key; the pages are pruned either way.
   */
  private vacuum(): Promise<void> {
    if (this.vacuumNext) return this.vacuumNext;
    const run = () => {
      const started = this.pool
        .query(`VACUUM (TRUNCATE false) ${this.t('data_keys')}`)
        .then(() => undefined)
        .finally(() => {
          if (this.vacuumRunning === started) this.vacuumRunning = null;
        });
      this.vacuumRunning = started;
      return started;
    };
    if (!this.vacuumRunning) return run();
    // One is under way and may have started before this delete: queue the next one after it.
    const next = this.vacuumRunning
      .catch(() => undefined)
      .then(() => {
        this.vacuumNext = null;
        return run();
      });
    this.vacuumNext = next;
    return next;
  }

  private async inTransaction<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const result = await work(c);
      await c.query('COMMIT');
      return result;
    } catch (error) {
      await c.query('ROLLBACK');
      throw error;
    } finally {
      c.release();
    }
  }
}
