import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { type EventStores, openEventStores } from '@app/infrastructure';
import { readModelChecksums, replayReadModels } from '@app/ops';
import { loadConfig } from '@app/platform';
import {
  generationDir,
  GENERATION_TABLES,
  GENERATIONS_DIR,
  ReadDb,
  ReadStore,
} from '@app/read-models';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { sqliteGenerationsLeft, sqlitePointer } from './generations-left';
import { projectLive } from './project-live';
import { seedLog } from './seed-log';

/**
 * A replay on SQLite builds a new generation of the read models (a file under
 * DATA_DIR/read-models/<generation>/), tops it up under the pointer's lock, moves the pointer
 * and drops the generation it replaced; every process follows the pointer at its next query.
 */
describe('replay into a new generation, switched by the pointer (SQLite)', () => {
  let dataDir: string;
  let stores: EventStores;
  let live: ReadDb;
  let head: bigint;

  beforeAll(async () => {
    dataDir = makeTmpDir('replay-generations-');
    stores = openEventStores(
      loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    );
    // In recordedAt order: the last events of the log (expiries, purges) belong to
    // subscriptions registered long before.
    await seedLog(stores, 6_000, { encryptEvery: 10, reuseDecisions: true, order: 'time' });
    live = await ReadDb.open({ dataDir });
    await projectLive(stores.raw, live, new ReadStore(live));
    head = (await stores.raw.headPosition())!;
  }, 120_000);

  afterEach(() => jest.restoreAllMocks());

  afterAll(async () => {
    await live?.close();
    await stores?.raw.close();
    await stores?.keys.close();
    if (dataDir) removeTmpDir(dataDir);
  });

  const tablesOf = async (db: ReadDb, schema: string): Promise<string[]> =>
    (
      await sql<{ name: string }>`select name from ${sql.id(schema)}.sqlite_master
        where type = 'table' and name like 'rm_%' order by name`.execute(db.db)
    ).rows.map((r) => r.name);

  it('the top-up under the lock brings the events after the build; the pointer names the new generation, whose indexes are built; the base tables it replaced are dropped', async () => {
    const expected = await readModelChecksums(live);
    expect(live.generation).toBeNull();
    // The build sees a head 300 events short: the top-up under the lock folds the last 300.
    const cut = head - 300n;
    jest.spyOn(stores.raw, 'headPosition').mockResolvedValueOnce(cut);
    // Drift for the replay to set right.
    await live.db.updateTable('rm_subscriptions').set({ updated_at: 'drift' }).execute();
    // Another process's queries built before the switch, on the base tables the switch drops,
    // run only after it (queued behind a transaction on its one connection).
    const other = await ReadDb.open({ dataDir });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held = other.transaction(() => gate);
    const queued = [
      // A transaction (first in the queue, before any query attached the new generation): its
      // generation is the one the pointer names when it begins.
      other.transaction((trx) => trx.selectFrom('rm_subscriptions').selectAll().limit(1).execute()),
      ...Array.from({ length: 5 }, () => new ReadStore(other).subscriptionsOf('acc_1')),
    ];

    const report = await replayReadModels({ log: stores.raw, live, dataDir });
    release();
    await held;
    const answers = await Promise.allSettled(queued);
    await other.close();
    expect(answers.filter((a) => a.status === 'rejected')).toEqual([]);
    expect(answers.every((a) => a.status === 'fulfilled' && a.value.length > 0)).toBe(true);
    expect(report).toMatchObject({
      swapped: true,
      replaced: null,
      replacedDropped: true,
      position: head.toString(),
      livePosition: head.toString(),
      events: Number(head),
    });
    expect(report.lockMs).toBeGreaterThanOrEqual(0);
    expect(report.lockMs).toBeLessThanOrEqual(report.swapMs);
    expect(live.generation).toBe(report.generation);
    expect(sqlitePointer(dataDir)).toBe(report.generation);
    expect(await readModelChecksums(live)).toEqual(expected);
    // The rows the top-up changed: subscriptions registered before the cut whose last event is
    // after it.
    const changedOld = await live.db
      .selectFrom('rm_subscriptions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('registered_position', '<=', Number(cut))
      .where('position', '>', Number(cut))
      .executeTakeFirstOrThrow();
    expect(Number(changedOld.n)).toBeGreaterThan(10);

    // The read database's own copies of the generation tables are gone; its other tables stay.
    const base = await tablesOf(live, 'main');
    for (const t of GENERATION_TABLES) expect(base).not.toContain(t);
    expect(base).toEqual(expect.arrayContaining(['rm_generation', 'rm_scrubs']));
    // The generation has every index the migrations make.
    const indexes = await sql<{ n: number }>`select count(*) as n from ${sql.id(
      `rm_${report.generation}`,
    )}.sqlite_master where type = 'index' and sql is not null`.execute(live.db);
    expect(Number(indexes.rows[0]!.n)).toBeGreaterThan(8);
    expect(sqliteGenerationsLeft(dataDir)).toEqual([]);
  }, 120_000);

  it('another process follows the pointer at its next query; the next replay drops the generation this one replaced', async () => {
    const other = await ReadDb.open({ dataDir });
    try {
      const first = other.generation;
      expect(first).toBe(live.generation);
      expect(first).not.toBeNull();
      const answer = () => new ReadStore(other).subscriptionsOf('acc_1');
      const before = await answer();
      expect(before.length).toBeGreaterThan(0);

      const report = await replayReadModels({ log: stores.raw, live, dataDir });
      expect(report.replaced).toBe(first);
      expect(existsSync(generationDir(dataDir, first!))).toBe(false);
      // Its next query reads the pointer and attaches the new file.
      expect(await answer()).toEqual(before);
      expect(other.generation).toBe(report.generation);
      expect(await readModelChecksums(other)).toEqual(await readModelChecksums(live));
      // A write from it lands in the generation readers use.
      const id = (
        await other.db
          .selectFrom('rm_audit_events')
          .select('subscription_id')
          .where('personal', '=', 1)
          .where('subscription_id', 'is not', null)
          .limit(1)
          .executeTakeFirstOrThrow()
      ).subscription_id!;
      expect(await new ReadStore(other).scrubSubscription(id)).toBeGreaterThan(0);
      const left = await live.db
        .selectFrom('rm_audit_events')
        .select('position')
        .where('subscription_id', '=', id)
        .where('personal', '=', 1)
        .execute();
      expect(left).toEqual([]);
    } finally {
      await other.close();
    }
  }, 120_000);

  it('queries of another process built before a switch (queued behind its transaction) still answer after it', async () => {
    const other = await ReadDb.open({ dataDir });
    try {
      await other.db.selectFrom('rm_accounts').select('account_id').limit(1).execute();
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const open = other.transaction(async (trx) => {
        await trx.selectFrom('rm_accounts').select('account_id').limit(1).execute();
        await held;
      });
      // Built now, naming the current generation; run once the transaction lets go.
      const queued = Array.from({ length: 10 }, () =>
        other.db.selectFrom('rm_audit_events').select('position').limit(1).execute(),
      );
      const report = await replayReadModels({ log: stores.raw, live, dataDir });
      release();
      await open;
      // Outside a transaction: follows the pointer to the new generation.
      const fresh = other.db.selectFrom('rm_audit_events').select('position').limit(1).execute();
      const answers = await Promise.allSettled([...queued, fresh]);
      expect(answers.filter((a) => a.status === 'rejected')).toEqual([]);
      expect(other.generation).toBe(report.generation);
    } finally {
      await other.close();
    }
  }, 120_000);

  it('a failure after the switch-over committed keeps the generation the pointer names; the next replay removes the one it replaced', async () => {
    const expected = await readModelChecksums(live);
    const was = live.generation;
    const switchOver = live.switchGeneration.bind(live);
    let built = '';
    jest.spyOn(live, 'switchGeneration').mockImplementationOnce(async (to, prepare) => {
      built = to;
      await switchOver(to, prepare);
      throw new Error('lost after the commit');
    });
    await expect(replayReadModels({ log: stores.raw, live, dataDir })).rejects.toThrow(
      'lost after the commit',
    );
    expect(sqlitePointer(dataDir)).toBe(built);
    expect(existsSync(generationDir(dataDir, built))).toBe(true);
    expect(await readModelChecksums(live)).toEqual(expected);
    // The generation it replaced was not dropped: the next replay removes it.
    expect(sqliteGenerationsLeft(dataDir)).toEqual([was]);
    jest.restoreAllMocks();
    await replayReadModels({ log: stores.raw, live, dataDir });
    expect(sqliteGenerationsLeft(dataDir)).toEqual([]);
    expect(await readModelChecksums(live)).toEqual(expected);
  }, 120_000);

  it('a removal a killed process left half done (a directory renamed aside) is deleted by the next replay', async () => {
    const aside = join(dataDir, GENERATIONS_DIR, 'gdead.removed-0a1b2c3d');
    mkdirSync(aside, { recursive: true });
    writeFileSync(join(aside, 'read-models.sqlite'), 'half deleted');
    await replayReadModels({ log: stores.raw, live, dataDir });
    expect(existsSync(aside)).toBe(false);
    expect(sqliteGenerationsLeft(dataDir)).toEqual([]);
  }, 120_000);

  it('a read database whose pointer names a generation that is not there does not open (it would make an empty one)', async () => {
    const current = live.generation!;
    await live.close();
    const dir = generationDir(dataDir, current);
    const aside = `${dir}-aside`;
    renameSync(dir, aside);
    try {
      await expect(ReadDb.open({ dataDir })).rejects.toThrow(
        `the pointer names generation ${current}, not found`,
      );
    } finally {
      renameSync(aside, dir);
      live = await ReadDb.open({ dataDir });
    }
    expect(live.generation).toBe(current);
  }, 60_000);
});
