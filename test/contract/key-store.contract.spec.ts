import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { PostgresKeyStore, SqliteKeyStore } from '@app/event-store';
import { testPgUrl } from '../support/postgres-url';
import { makeTmpDir, removeTmpDir } from '../support/tmp-dir';
import { runKeyStoreContract } from './key-store.contract';

let dir = '';
runKeyStoreContract(
  'SQLite',
  async () => {
    dir = makeTmpDir('keys-contract-');
    const file = join(dir, 'keys.sqlite');
    return {
      open: (o) =>
        SqliteKeyStore.open(
          file,
          o?.keyEncryptionKey ? { keyEncryptionKey: o.keyEncryptionKey } : {},
        ),
      // Every file of the store: the database, its WAL and shared memory.
      contains: async (bytes) =>
        readdirSync(dir).some((n) => readFileSync(join(dir, n)).includes(bytes)),
    };
  },
  async () => removeTmpDir(dir),
);

/** The run's PostgreSQL (TEST_PG_URL, set by jest's globalSetup: see test/support/postgres-url.ts). */
const PG_URL = testPgUrl();
let schema = '';
runKeyStoreContract(
  'PostgreSQL',
  async () => {
    schema = `keys_${process.pid}_${Date.now() % 1e8}`;
    return {
      open: (o) =>
        new PostgresKeyStore({
          connectionString: PG_URL,
          schema,
          ...(o?.keyEncryptionKey ? { keyEncryptionKey: o.keyEncryptionKey } : {}),
        }),
      // Live rows: what any reader of the database can see (WAL/backups: see PostgresKeyStore's doc).
      contains: async (bytes) => {
        const c = new Client({ connectionString: PG_URL });
        await c.connect();
        try {
          const r = await c.query<{ n: string }>(
            `SELECT count(*) AS n FROM "${schema}".data_keys WHERE position($1::bytea in material) > 0`,
            [bytes],
          );
          return Number(r.rows[0]!.n) > 0;
        } finally {
          await c.end();
        }
      },
    };
  },
  async () => {
    const c = new Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  },
);
