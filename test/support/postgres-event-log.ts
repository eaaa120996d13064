import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { testPgUrl } from './postgres-url';

/** The PostgreSQL of the run (TEST_PG_URL, see postgres-url.ts). */
export const PG_URL = testPgUrl();

/** A fresh schema name; PostgresEventStore creates it on first use, dropSchemas removes it. */
export function freshSchema(prefix = 'es_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** PG_URL with `?schema=` set: the event log's URL for that schema. */
export function eventLogUrl(schema: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

export async function dropSchemas(...schemas: string[]): Promise<void> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
