import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { GENERATIONS_DIR, generationSchema } from '@app/read-models';
import { PG_URL } from '../read-models/support/postgres';

/**
 * Generations of the read models that readers do not use: SQLite directories under
 * DATA_DIR/read-models/ other than the one the pointer names (what a replay that stopped or was
 * killed would leave behind, or a replaced generation not dropped).
 */
export function sqliteGenerationsLeft(dataDir: string): string[] {
  const dir = join(dataDir, GENERATIONS_DIR);
  if (!existsSync(dir)) return [];
  const current = sqlitePointer(dataDir);
  return readdirSync(dir)
    .filter((n) => n !== current)
    .sort();
}

/** The generation the SQLite read database's pointer names (null: the base tables). */
export function sqlitePointer(dataDir: string): string | null {
  const db = new Database(join(dataDir, 'read-models.sqlite'), { readonly: true });
  try {
    const row = db.prepare('SELECT generation FROM rm_generation WHERE id = 1').get() as
      { generation: string | null } | undefined;
    return row?.generation ?? null;
  } finally {
    db.close();
  }
}

/**
 * The generation schemas of the PostgreSQL read schema `live` (and the `_replay_` shadows of
 * earlier versions) other than the one its pointer names.
 */
export async function postgresGenerationsLeft(live: string): Promise<string[]> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  let current: string | null;
  try {
    const pointer = await client
      .query<{ generation: string | null }>(
        `SELECT generation FROM "${live}".rm_generation WHERE id = 1`,
      )
      .then((r) => r.rows[0]?.generation ?? null)
      .catch(() => null);
    current = pointer === null ? null : generationSchema(live, pointer);
  } finally {
    await client.end();
  }
  return (await postgresGenerationSchemas(live)).filter((n) => n !== current);
}

/** Every generation schema of `live`, the current one included (for clean-up after a test). */
export async function postgresGenerationSchemas(live: string): Promise<string[]> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(
      'SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 ORDER BY nspname',
      [`${live}\\_%`],
    );
    return rows
      .map((r) => r.nspname)
      .filter((n) => new RegExp(`^${live}_(replay_)?g[0-9a-z]+$`).test(n));
  } finally {
    await client.end();
  }
}
