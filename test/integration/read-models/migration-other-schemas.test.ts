import { Client } from 'pg';
import { ReadDb } from '@app/read-models';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { dropSchema, freshSchema, PG_URL, urlWithSchema } from './support/postgres';

/**
 * Opening (migrating) a read database in its schema while other schemas of the same PostgreSQL
 * database come and go: another tenant, another test, a replay dropping its shadow. Kysely's own
 * introspection read every schema's tables and failed ("relation … does not exist") when one was
 * dropped under it; the migrator now looks at its own schema only.
 */
describe('read-model migrations on PostgreSQL while other schemas are created and dropped', () => {
  it('every open of a fresh schema succeeds while another connection churns schemas with tables', async () => {
    const churn = new Client({ connectionString: PG_URL });
    await churn.connect();
    let stop = false;
    const churned: string[] = [];
    const churning = (async () => {
      while (!stop) {
        const other = freshSchema('rm_churn');
        churned.push(other);
        await churn.query(`CREATE SCHEMA "${other}"`);
        for (let i = 0; i < 20; i++)
          await churn.query(`CREATE TABLE "${other}".t${i} (id serial primary key, v text)`);
        await churn.query(`DROP SCHEMA "${other}" CASCADE`);
      }
    })();
    const dir = makeTmpDir('rm-other-schemas-');
    const opened: string[] = [];
    try {
      for (let i = 0; i < 12; i++) {
        const schema = freshSchema('rm_open');
        opened.push(schema);
        const db = await ReadDb.open({ dataDir: dir, readDbUrl: urlWithSchema(schema) });
        await db.close();
      }
    } finally {
      stop = true;
      await churning;
      await churn.end();
      for (const schema of opened) await dropSchema(schema);
      removeTmpDir(dir);
    }
    // The churn really ran alongside.
    expect(churned.length).toBeGreaterThan(1);
  }, 120_000);
});
