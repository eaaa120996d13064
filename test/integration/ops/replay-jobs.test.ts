import { sql } from 'kysely';
import pino from 'pino';
import { Client } from 'pg';
import { openEventStores } from '@app/infrastructure';
import { REBUILT_TABLES, readModelChecksums } from '@app/ops';
import { type AppConfig, loadConfig } from '@app/platform';
import { ReadDb, ReadStore } from '@app/read-models';
import {
  type ReplayJob,
  ReplayJobs,
  type ReplayJobsOptions,
} from '../../../apps/api/src/ops-replay/replay-jobs';
import { processOwner } from '../../../apps/api/src/ops-replay/replay-job-store';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { dropSchema, freshSchema, PG_URL, urlWithSchema } from '../read-models/support/postgres';
import { projectLive } from './project-live';
import { seedLog } from './seed-log';

/**
 * Replay handles (POST /v1/ops/replay) in the read database, on both dialects: every ReplayJobs
 * here has a ReadDb connection (SQLite) or pool (PostgreSQL) of its own on the same DATA_DIR or
 * schema, as api replicas do; "restart" is a new ReplayJobs on a new connection.
 */
describe.each(['sqlite', 'postgres'] as const)(
  'replay jobs in the read database (%s)',
  (dialect) => {
    let dataDir: string;
    let schema: string | null = null;
    let stores: ReturnType<typeof openEventStores>;
    let config: AppConfig;
    let live: ReadDb;
    const opened: Array<{ jobs: ReplayJobs; readDb: ReadDb }> = [];
    const logger = pino({ level: 'silent' });

    const openDb = () =>
      ReadDb.open({ dataDir, readDbUrl: config.readDbUrl, ...(schema ? { poolSize: 3 } : {}) });

    /** A ReplayJobs on a connection of its own (another replica, or the same one restarted). */
    const instance = async (options: ReplayJobsOptions = {}) => {
      const readDb = await openDb();
      const jobs = new ReplayJobs(config, logger, readDb, {
        heartbeatMs: 50,
        ...options,
      });
      const entry = { jobs, readDb };
      opened.push(entry);
      return entry;
    };
    const shutdown = async (entry: { jobs: ReplayJobs; readDb: ReadDb }) => {
      await entry.jobs.onApplicationShutdown();
      await entry.readDb.close();
      opened.splice(opened.indexOf(entry), 1);
    };

    const untilDone = async (jobs: ReplayJobs, id: string): Promise<ReplayJob> => {
      for (let i = 0; i < 1200; i++) {
        const job = await jobs.get(id);
        if (job && job.status !== 'running') return job;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`replay ${id} still running after 30 s`);
    };

    const rows = async () =>
      live.db.selectFrom('ops_replays').selectAll().orderBy('started_at').execute();

    beforeAll(async () => {
      dataDir = makeTmpDir(`replay-jobs-${dialect}-`);
      stores = openEventStores(
        loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
      );
      await seedLog(stores, 2000, { encryptEvery: 10 });
      if (dialect === 'postgres') schema = freshSchema('rm_replay_jobs');
      config = loadConfig({
        DATA_DIR: dataDir,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        ...(schema ? { READ_DB_URL: urlWithSchema(schema) } : {}),
      });
      live = await openDb();
      await projectLive(stores.raw, live, new ReadStore(live));
    }, 120_000);

    afterEach(async () => {
      for (const entry of [...opened]) await shutdown(entry);
      await live.db.deleteFrom('ops_replays').execute();
    });

    afterAll(async () => {
      await live?.close();
      await stores?.raw.close();
      await stores?.keys.close();
      if (schema) {
        await dropSchema(schema);
        await dropShadows(schema);
      }
      if (dataDir) removeTmpDir(dataDir);
    });

    it('a handle started on one instance is readable from another while it runs and after; a restart keeps it with its report', async () => {
      const a = await instance();
      const b = await instance();
      const { job, started } = await a.jobs.start('all', false);
      expect(started).toBe(true);
      expect(job).toMatchObject({ status: 'running', owner: processOwner(), dryRun: false });

      const seen = await b.jobs.get(job.id);
      expect(seen).toMatchObject({ id: job.id, projection: 'all', dryRun: false, error: null });
      expect(['running', 'succeeded']).toContain(seen!.status);

      const done = await untilDone(a.jobs, job.id);
      expect(done).toMatchObject({ status: 'succeeded', error: null });
      expect(done.report).toMatchObject({ dialect, swapped: true, dryRun: false });
      expect(done.progress.events).toBeGreaterThan(0);
      expect(done.finishedAt).not.toBeNull();
      expect(await b.jobs.get(job.id)).toEqual(done);

      // The switch-over replaced the read models, not the job table.
      expect(await rows()).toHaveLength(1);

      // "Restart": both instances gone, a new one on a new connection.
      await shutdown(a);
      await shutdown(b);
      const c = await instance();
      expect(await c.jobs.get(job.id)).toEqual(done);
      expect(await c.jobs.get('replay-unknown')).toBeNull();
    }, 60_000);

    it('two instances starting at once: one replay, the other gets the running handle', async () => {
      const a = await instance();
      const b = await instance();
      const [x, y] = await Promise.all([a.jobs.start('all', true), b.jobs.start('all', true)]);
      expect([x.started, y.started].sort()).toEqual([false, true]);
      expect(x.job.id).toBe(y.job.id);
      // A third start on either instance while it runs: the same handle again.
      const again = await b.jobs.start('all', false);
      if (again.started) {
        // It had already finished: then this is a new job, as it should be.
        expect(again.job.id).not.toBe(x.job.id);
      } else expect(again.job.id).toBe(x.job.id);
      const done = await untilDone(a.jobs, x.job.id);
      expect(done).toMatchObject({ status: 'succeeded', dryRun: true });
      expect(done.report).toMatchObject({ identical: true, swapped: false });
      if (again.started) await untilDone(b.jobs, again.job.id);
      expect((await rows()).filter((r) => r.id === x.job.id)).toHaveLength(1);
    }, 60_000);

    it('a running row whose heartbeat is older than the bound reads as failed (its process stopped) and does not block a new start', async () => {
      const a = await instance({ staleAfterMs: 30_000 });
      const old = new Date(Date.now() - 60_000).toISOString();
      await live.db
        .insertInto('ops_replays')
        .values({
          id: 'replay-dead',
          status: 'running',
          projection: 'all',
          dry_run: 0,
          started_at: new Date(Date.now() - 120_000).toISOString(),
          finished_at: null,
          progress: JSON.stringify({ events: 10, done: 10, total: 2000 }),
          report: null,
          error: null,
          owner: 'elsewhere/4242',
          heartbeat_at: old,
        })
        .execute();
      const dead = await a.jobs.get('replay-dead');
      expect(dead).toMatchObject({ status: 'failed', finishedAt: old, report: null });
      expect(dead!.error).toContain(
        'the process running it (elsewhere/4242) stopped before it finished',
      );

      const { job, started } = await a.jobs.start('all', true);
      expect(started).toBe(true);
      expect(job.id).not.toBe('replay-dead');
      // The claim recorded the dead job as failed.
      const stored = (await rows()).find((r) => r.id === 'replay-dead')!;
      expect(stored).toMatchObject({ status: 'failed', finished_at: old });
      expect(stored.error).toBe(dead!.error);
      expect(await untilDone(a.jobs, job.id)).toMatchObject({ status: 'succeeded' });
    }, 60_000);

    it('a running row with a fresh heartbeat (another replica) blocks a start: alreadyRunning', async () => {
      const a = await instance();
      const now = new Date().toISOString();
      await live.db
        .insertInto('ops_replays')
        .values({
          id: 'replay-elsewhere',
          status: 'running',
          projection: 'all',
          dry_run: 1,
          started_at: now,
          finished_at: null,
          progress: JSON.stringify({ events: 5, done: 5, total: 2000 }),
          report: null,
          error: null,
          owner: 'other-host/7',
          heartbeat_at: now,
        })
        .execute();
      const { job, started } = await a.jobs.start('all', false);
      expect(started).toBe(false);
      expect(job).toMatchObject({
        id: 'replay-elsewhere',
        status: 'running',
        owner: 'other-host/7',
        dryRun: true,
        progress: { events: 5, done: 5, total: 2000 },
      });
      expect(await rows()).toHaveLength(1);
    });

    it('the running process writes its heartbeat and progress while it runs, and never leaves the row running after a shutdown', async () => {
      const a = await instance({ heartbeatMs: 10 });
      const b = await instance();
      const { job } = await a.jobs.start('all', true);
      const beats = new Set<string>();
      let progressed = false;
      for (;;) {
        const row = await b.readDb.db
          .selectFrom('ops_replays')
          .selectAll()
          .where('id', '=', job.id)
          .executeTakeFirstOrThrow();
        if (row.status !== 'running') break;
        beats.add(row.heartbeat_at);
        if ((JSON.parse(row.progress) as { events: number }).events > 0) progressed = true;
        await new Promise((r) => setTimeout(r, 5));
      }
      // Seen from the other instance while it ran (a beat every 10 ms; the replay takes longer).
      expect(beats.size).toBeGreaterThanOrEqual(2);
      expect(progressed).toBe(true);

      // Shut down right after a start: the shutdown waits, the row holds the outcome.
      const second = await a.jobs.start('all', true);
      expect(second.started).toBe(true);
      await shutdown(a);
      const row = await b.readDb.db
        .selectFrom('ops_replays')
        .selectAll()
        .where('id', '=', second.job.id)
        .executeTakeFirstOrThrow();
      expect(row.status).toBe('succeeded');
      expect(row.finished_at).not.toBeNull();
      expect(JSON.parse(row.report!)).toMatchObject({ identical: true });
    }, 60_000);

    it('keeps the most recent 20 jobs', async () => {
      const base = Date.now() - 3_600_000;
      for (let i = 0; i < 25; i++) {
        const at = new Date(base + i * 1000).toISOString();
        await live.db
          .insertInto('ops_replays')
          .values({
            id: `replay-old-${String(i).padStart(2, '0')}`,
            status: 'succeeded',
            projection: 'all',
            dry_run: 1,
            started_at: at,
            finished_at: at,
            progress: JSON.stringify({ events: 0, done: 0, total: 0 }),
            report: null,
            error: null,
            owner: 'gone/1',
            heartbeat_at: at,
          })
          .execute();
      }
      const a = await instance();
      const { job, started } = await a.jobs.start('all', true);
      expect(started).toBe(true);
      const ids = (await rows()).map((r) => r.id);
      expect(ids).toHaveLength(20);
      expect(ids[ids.length - 1]).toBe(job.id);
      expect(ids[0]).toBe('replay-old-06');
      await untilDone(a.jobs, job.id);
    }, 60_000);

    it('a read database migrated before ops_replays existed gets it when opened (migration 002)', async () => {
      const dir = makeTmpDir('replay-jobs-upgrade-');
      const other = dialect === 'postgres' ? freshSchema('rm_replay_upgrade') : null;
      const open = () =>
        ReadDb.open({ dataDir: dir, ...(other ? { readDbUrl: urlWithSchema(other) } : {}) });
      try {
        let db = await open();
        // Back to the schema of 001: no table, no record of 002 (nor of the later ones).
        await db.db.schema.dropTable('ops_replays').execute();
        await db.db.schema.dropTable('rm_integration_events').execute();
        await db.db.schema.dropTable('webhook_deliveries').execute();
        await db.db.schema.dropTable('webhook_endpoints').execute();
        // 005 (D11): the receipts' chain columns and their index.
        await db.db.schema.dropIndex('rm_purge_receipts_sequence').execute();
        for (const column of [
          'sequence',
          'previous_hash',
          'signature_kid',
          'signature_value',
          'receipt_hash',
        ])
          await db.db.schema.alterTable('rm_purge_receipts').dropColumn(column).execute();
        // 006: the generation pointer.
        await db.db.schema.dropTable('rm_generation').execute();
        await sql`delete from rm_migrations where name > '001_read_models'`.execute(db.db);
        await db.close();
        db = await open();
        const names = await sql<{ name: string }>`select name from rm_migrations order by name`
          .execute(db.db)
          .then((r) => r.rows.map((x) => x.name));
        expect(names).toEqual([
          '001_read_models',
          '002_ops_replays',
          '003_integration_events',
          '004_webhooks',
          '005_receipt_signatures',
          '006_generation_pointer',
        ]);
        expect(await db.db.selectFrom('ops_replays').selectAll().execute()).toEqual([]);
        await db.close();
      } finally {
        if (other) await dropSchema(other);
        removeTmpDir(dir);
      }
    });

    it('ops_replays is not a read model: checksums, dry runs and switch-overs leave it out', async () => {
      expect(Object.keys(await readModelChecksums(live)).sort()).toEqual(
        [...REBUILT_TABLES].sort(),
      );
      expect(REBUILT_TABLES as readonly string[]).not.toContain('ops_replays');
      // Present in the live database after the replays above (on PostgreSQL: in the live schema;
      // a generation's schema has an unused empty copy, made by the same migrations).
      if (dialect === 'postgres') {
        const client = new Client({ connectionString: PG_URL });
        await client.connect();
        try {
          const found = await client.query(
            `select table_schema from information_schema.tables where table_name = 'ops_replays'
             and table_schema like $1`,
            [`${schema}%`],
          );
          expect(found.rows).toContainEqual({ table_schema: schema });
        } finally {
          await client.end();
        }
      } else {
        const tables = await sql<{
          name: string;
        }>`select name from sqlite_master where type = 'table' and name = 'ops_replays'`.execute(
          live.db,
        );
        expect(tables.rows).toHaveLength(1);
      }
    });
  },
);

async function dropShadows(live: string): Promise<void> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(
      `select nspname from pg_namespace where nspname like $1`,
      [`${live}\\_%`],
    );
    for (const r of rows) await dropSchema(r.nspname);
  } finally {
    await client.end();
  }
}
