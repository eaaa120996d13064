import { tmpdir } from 'node:os';
import { Client } from 'pg';
import { testPgUrl } from './postgres-url';

describe("the run's PostgreSQL (jest globalSetup: test/support/postgres-harness.ts)", () => {
  it('reaches every test file in TEST_PG_URL and answers there', async () => {
    expect(process.env['TEST_PG_URL']).toBeTruthy();
    expect(testPgUrl()).toBe(process.env['TEST_PG_URL']);

    const client = new Client({ connectionString: testPgUrl(), connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      const { rows } = await client.query<{ db: string; port: string; dir: string; max: string }>(
        `SELECT current_database() AS db, current_setting('port') AS port,
                current_setting('data_directory') AS dir, current_setting('max_connections') AS max`,
      );
      const server = rows[0]!;
      // TEST_PG_PRIVATE=1 (checking the harness): the server it started, not the machine's.
      if (process.env['TEST_PG_PRIVATE'] === '1') {
        expect(server).toMatchObject({ db: 'test', max: '300' });
        expect(server.port).not.toBe('5432');
        expect(server.dir.startsWith(tmpdir())).toBe(true);
      }
    } finally {
      await client.end();
    }
  });
});
