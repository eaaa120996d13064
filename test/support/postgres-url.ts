/**
 * The local PostgreSQL of these machines (trust auth, database `test`): what the tests use when
 * nothing says otherwise. jest's globalSetup (test/support/postgres-harness.ts) probes it.
 */
export const DEFAULT_TEST_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The PostgreSQL the tests run against. Under jest, globalSetup always sets TEST_PG_URL (to the
 * variable's own value, the server on 127.0.0.1:5432, or a private server it started); the
 * default only matters for code run outside jest. An empty TEST_PG_URL counts as unset.
 */
export function testPgUrl(): string {
  return process.env['TEST_PG_URL'] || DEFAULT_TEST_PG_URL;
}
