import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { PROJECTED_TABLES, type ProjectedTable, type ReadDb } from '@app/read-models';

/**
 * The read-model tables a replay rebuilds from the log (rm_scrubs and rm_checkpoints are kept;
 * ops_replays, the replay jobs themselves, is no read model: never rebuilt, swapped or compared).
 */
export const REBUILT_TABLES = PROJECTED_TABLES;
export type RebuiltTable = ProjectedTable;

/** Primary key of each rebuilt table: rows are hashed in its order. */
export const TABLE_KEYS: Readonly<Record<RebuiltTable, string>> = {
  rm_audit_events: 'position',
  rm_subscriptions: 'subscription_id',
  rm_accounts: 'account_id',
  rm_purge_receipts: 'position',
  rm_confirmations: 'event_id',
  rm_integration_events: 'position',
};

export interface TableChecksum {
  rows: number;
  /** sha256 over every row (columns in name order, values as text), in key order. */
  sha256: string;
}

const PAGE = 5000;

/** A cell as text: NULL apart, numbers and bigints in decimal, anything else as JSON. */
const cell = (v: unknown): string =>
  v === null || v === undefined
    ? '\\N'
    : typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'bigint'
        ? v.toString()
        : JSON.stringify(v);

/**
 * Checksums of the rebuilt tables, comparable across SQLite and PostgreSQL (every value is
 * hashed as text: pg returns BIGINT as a string, better-sqlite3 as a number).
 */
export async function readModelChecksums(
  readDb: ReadDb,
): Promise<Record<RebuiltTable, TableChecksum>> {
  const out = {} as Record<RebuiltTable, TableChecksum>;
  for (const table of REBUILT_TABLES) {
    const key = TABLE_KEYS[table];
    const hash = createHash('sha256');
    let rows = 0;
    let after: unknown = null;
    for (;;) {
      const page = (
        await sql<Record<string, unknown>>`select * from ${sql.table(table)} ${
          after === null ? sql`` : sql`where ${sql.ref(key)} > ${after}`
        } order by ${sql.ref(key)} limit ${PAGE}`.execute(readDb.db)
      ).rows;
      for (const row of page) {
        const names = Object.keys(row).sort();
        hash.update(names.map((n) => `${n}=${cell(row[n])}`).join('\u0001'));
        hash.update('\n');
      }
      rows += page.length;
      if (page.length < PAGE) break;
      after = page[page.length - 1]![key];
    }
    out[table] = { rows, sha256: hash.digest('hex') };
  }
  return out;
}
