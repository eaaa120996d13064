import { Client } from 'pg';
import { openEventStores } from '@app/infrastructure';
import { readModelChecksums, replayReadModels, verifyReadModels } from '@app/ops';
import { loadConfig } from '@app/platform';
import { generationSchema, ReadDb, ReadStore } from '@app/read-models';
import { lockGenerationSchema } from '../../../libs/ops/src/generation-schema-lock';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { dropSchema, freshSchema, PG_URL, urlWithSchema } from '../read-models/support/postgres';
import { postgresGenerationSchemas, postgresGenerationsLeft } from './generations-left';
import { runOps } from './ops-cli';
import { projectLive } from './project-live';
import { seedLog } from './seed-log';

/**
 * Replay and verify with the read models on PostgreSQL (READ_DB_URL): the new generation is a
 * schema of its own (`<schema>_<generation>`) and the switch moves the pointer in one
 * transaction; the generation replaced is dropped. A log of 20,000 events made by the
 * real deciders, projected live by the real projector into a fresh schema (dropped after).
 */
describe('replay and verify on PostgreSQL (20,000 events)', () => {
  let dataDir: string;
  let schema: string;
  let readDb: ReadDb;
  let readStore: ReadStore;
  let stores: ReturnType<typeof openEventStores>;
  let events = 0;

  beforeAll(async () => {
    dataDir = makeTmpDir('ops-pg-');
    schema = freshSchema('rm_replay');
    stores = openEventStores(
      loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    );
    ({ events } = await seedLog(stores, 20_000, { encryptEvery: 10 }));
    readDb = await ReadDb.open({ dataDir, readDbUrl: urlWithSchema(schema), poolSize: 4 });
    readStore = new ReadStore(readDb);
    await projectLive(stores.raw, readDb, readStore);
  }, 180_000);

  afterAll(async () => {
    await readDb?.close();
    await stores?.raw.close();
    await stores?.keys.close();
    if (schema) await dropSchema(schema);
    // Shadow schemas are named after the live one; a failed run must not leave them behind.
    if (schema) await dropShadows(schema);
    if (dataDir) removeTmpDir(dataDir);
  });

  const leftBehind = () => postgresGenerationsLeft(schema);

  it('a dry run builds a shadow schema equal to the live tables and leaves the live ones in place', async () => {
    const before = await readModelChecksums(readDb);
    const report = await replayReadModels({
      log: stores.raw,
      live: readDb,
      dataDir,
      readDbUrl: urlWithSchema(schema),
      dryRun: true,
    });
    expect(report).toMatchObject({
      dialect: 'postgres',
      dryRun: true,
      swapped: false,
      identical: true,
    });
    expect(report.events).toBeGreaterThanOrEqual(events);
    expect(await readModelChecksums(readDb)).toEqual(before);
    expect(await postgresGenerationSchemas(schema)).toEqual([]);
    expect(readDb.generation).toBeNull();
  }, 120_000);

  it('replay rebuilds identical read models (checksums equal) and queries keep answering during it', async () => {
    const before = await readModelChecksums(readDb);
    expect(before.rm_audit_events.rows).toBe(events);
    const listed = (await readStore.subscriptionsOf('acc_1')).length;
    expect(listed).toBeGreaterThan(0);

    let done = false;
    const answers = new Set<number>();
    let queries = 0;
    const reader = (async () => {
      while (!done) {
        answers.add((await readStore.subscriptionsOf('acc_1')).length);
        queries++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const report = await replayReadModels({
      log: stores.raw,
      live: readDb,
      dataDir,
      readDbUrl: urlWithSchema(schema),
    });
    done = true;
    await reader;

    expect(report).toMatchObject({ dialect: 'postgres', swapped: true, position: String(events) });
    expect(queries).toBeGreaterThan(5);
    expect([...answers]).toEqual([listed]);
    expect(await readModelChecksums(readDb)).toEqual(before);
    expect(await readStore.checkpoint()).toBe(BigInt(events));
    // The pointer names the new generation; the base tables it replaced are gone.
    expect(readDb.generation).toBe(report.generation);
    expect(await postgresGenerationSchemas(schema)).toEqual([
      generationSchema(schema, report.generation),
    ]);
    expect(await baseTables(schema)).not.toContain('rm_audit_events');
    expect(await baseTables(schema)).toEqual(
      expect.arrayContaining(['rm_generation', 'rm_scrubs', 'webhook_endpoints']),
    );
  }, 120_000);

  it('another process follows the pointer; a write it began on the old generation lands in the new one', async () => {
    // Another api, opened before the replay, that has not read the pointer since (a process
    // paused longer than the replay's grace period).
    const other = await ReadDb.open({
      dataDir,
      readDbUrl: urlWithSchema(schema),
      poolSize: 2,
      generationPollMs: 600_000,
    });
    try {
      const was = other.generation;
      expect(was).toBe(readDb.generation);
      const report = await replayReadModels({
        log: stores.raw,
        live: readDb,
        dataDir,
        readDbUrl: urlWithSchema(schema),
      });
      expect(report.replaced).toBe(was);
      // A scrub (a write) checks the pointer under its lock and goes to the new generation
      // instead of the dropped one.
      expect(other.generation).toBe(was);
      const id = (
        await readDb.db
          .selectFrom('rm_subscriptions')
          .select('subscription_id')
          .limit(1)
          .executeTakeFirstOrThrow()
      ).subscription_id;
      const scrubbed = await new ReadStore(other).scrubSubscription(id);
      expect(other.generation).toBe(report.generation);
      expect(scrubbed).toBeGreaterThan(0);
      const left = await readDb.db
        .selectFrom('rm_audit_events')
        .select('position')
        .where('subscription_id', '=', id)
        .where('personal', '=', 1)
        .execute();
      expect(left).toEqual([]);
      expect(await leftBehind()).toEqual([]);
    } finally {
      await other.close();
    }
  }, 120_000);

  it('the shadow schema of a replay killed mid-build (SIGKILL) is dropped by the next replay; the shadow of a replay still running (its lock held) is kept', async () => {
    const before = await readModelChecksums(readDb);
    const killed = runOps(['replay', '--json'], {
      DATA_DIR: dataDir,
      READ_DB_URL: urlWithSchema(schema),
    });
    try {
      const deadline = Date.now() + 60_000;
      while ((await leftBehind()).length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
    } finally {
      killed.child.kill('SIGKILL');
    }
    await killed;
    const orphans = await leftBehind();
    expect(orphans).toHaveLength(1);

    // Another replay, elsewhere, while this one runs: it holds the lock of its shadow.
    const running = `${schema}_replay_grunning`;
    const elsewhere = await lockGenerationSchema(urlWithSchema(schema), running);
    try {
      await createSchema(running);
      const report = await replayReadModels({
        log: stores.raw,
        live: readDb,
        dataDir,
        readDbUrl: urlWithSchema(schema),
      });
      expect(report).toMatchObject({ swapped: true });
      expect(await leftBehind()).toEqual([running]);
      expect(await readModelChecksums(readDb)).toEqual(before);
    } finally {
      await dropSchema(running);
      await elsewhere.release();
    }
  }, 120_000);

  it('verify passes on the rebuilt tables and reports an injected drift', async () => {
    const clean = await verifyReadModels({ log: stores.raw, readDb });
    expect(clean).toMatchObject({ ok: true, driftCount: 0 });
    expect(clean.integrationEvents).toBeGreaterThan(1);
    await readDb.db.deleteFrom('rm_audit_events').where('position', '=', '77').execute();
    // The integration events too: one lost, one whose body a hand changed.
    const [lost, changed] = await readDb.db
      .selectFrom('rm_integration_events')
      .select(['position', 'body'])
      .orderBy('position')
      .limit(2)
      .execute();
    await readDb.db
      .deleteFrom('rm_integration_events')
      .where('position', '=', lost!.position)
      .execute();
    const body = { ...(JSON.parse(changed!.body) as object), type: 'subscription.renewed' };
    await readDb.db
      .updateTable('rm_integration_events')
      .set({ body: JSON.stringify(body) })
      .where('position', '=', changed!.position)
      .execute();
    const report = await verifyReadModels({ log: stores.raw, readDb });
    expect(report.ok).toBe(false);
    expect(report.drifts.map((d) => `${d.kind} ${d.key}`)).toEqual([
      'audit-row-missing 77',
      `integration-row-missing ${lost!.position}`,
      `integration-row-different ${changed!.position}`,
    ]);
    expect(report.drifts[2]!.fields!['body']!.actual).toMatchObject({
      type: 'subscription.renewed',
    });
  }, 120_000);
});

async function createSchema(name: string): Promise<void> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA "${name}"`);
    await client.query(`CREATE TABLE "${name}".rm_checkpoints (name text)`);
  } finally {
    await client.end();
  }
}

async function baseTables(live: string): Promise<string[]> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      'SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename',
      [live],
    );
    return rows.map((r) => r.tablename);
  } finally {
    await client.end();
  }
}

async function dropShadows(live: string): Promise<void> {
  for (const s of await postgresGenerationSchemas(live)) await dropSchema(s);
}
