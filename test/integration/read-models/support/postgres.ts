import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { testPgUrl } from '../../../support/postgres-url';

/** The run's PostgreSQL (TEST_PG_URL, set by jest's globalSetup: see test/support/postgres-url.ts). */
export const PG_URL = testPgUrl();

/** A fresh schema name per test; the read store creates it, dropSchema removes it. */
export function freshSchema(prefix = 'rm_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export function urlWithSchema(schema: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** True when the server answers; suites on PostgreSQL fail loudly otherwise (it is part of CI). */
export async function postgresReachable(): Promise<boolean> {
  const client = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
