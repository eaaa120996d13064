import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { type EventStores, openEventStores } from '@app/infrastructure';
import { readModelChecksums, replayReadModels } from '@app/ops';
import { loadConfig } from '@app/platform';
import { ReadDb, ReadStore } from '@app/read-models';
import {
  copyAhead,
  dropOrphanedNextTables,
  nextIndexName,
  nextTable,
  nextTableDdl,
  PRECOPIED_TABLES,
  recordShadowChanges,
  replaceWithNext,
} from '../../../libs/ops/src/sqlite-table-precopy';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { projectLive } from './project-live';
import { seedLog } from './seed-log';

/** Index names of the tables the switch-over copies ahead, sorted. */
const indexNames = async (db: ReadDb): Promise<string[]> =>
  (
    await sql<{ name: string }>`select name from sqlite_master where type = 'index'
      and sql is not null and tbl_name in (${sql.join([...PRECOPIED_TABLES])}) order by name`.execute(
      db.db,
    )
  ).rows.map((r) => r.name);
/** Tables matching a GLOB pattern (`_` is no wildcard there). */
const tablesNamed = async (db: ReadDb, glob: string): Promise<string[]> =>
  (
    await sql<{
      name: string;
    }>`select name from sqlite_master where type = 'table' and name glob ${glob}`.execute(db.db)
  ).rows.map((r) => r.name);

/**
 * The SQLite switch-over copies the large tables into the live file ahead of its lock
 * (libs/ops/src/sqlite-table-precopy.ts); under the lock it copies again only the rows the shadow
 * changed since, and renames.
 */
describe('replay switch-over on SQLite: the large tables copied ahead of the lock', () => {
  let dataDir: string;
  let stores: EventStores;
  let live: ReadDb;
  let head: bigint;

  beforeAll(async () => {
    dataDir = makeTmpDir('replay-switch-');
    stores = openEventStores(
      loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    );
    // In recordedAt order: the last events of the log (expiries, purges) belong to
    // subscriptions registered long before, whose rows the copy ahead has already copied.
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

  it('rows the top-up changes under the lock are copied again: the live tables equal the live projection, the indexes carry the tag of the replay that built them, nothing is left behind', async () => {
    const expected = await readModelChecksums(live);
    const names = await indexNames(live);
    expect(names.length).toBeGreaterThan(5);
    // The build sees a head 300 events short: the top-up under the lock folds the last 300.
    const cut = head - 300n;
    jest.spyOn(stores.raw, 'headPosition').mockResolvedValueOnce(cut);
    // Drift for the replay to set right.
    await live.db.updateTable('rm_subscriptions').set({ updated_at: 'drift' }).execute();

    const report = await replayReadModels({ log: stores.raw, live, dataDir });
    expect(report).toMatchObject({
      swapped: true,
      position: head.toString(),
      events: Number(head),
    });
    expect(report.lockMs).toBeGreaterThanOrEqual(0);
    expect(report.lockMs).toBeLessThanOrEqual(report.swapMs);
    expect(await readModelChecksums(live)).toEqual(expected);
    // The top-up did change rows copied ahead: subscriptions registered before the cut whose
    // last event is after it.
    const changedOld = await live.db
      .selectFrom('rm_subscriptions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('registered_position', '<=', Number(cut))
      .where('position', '>', Number(cut))
      .executeTakeFirstOrThrow();
    expect(Number(changedOld.n)).toBeGreaterThan(10);

    expect(await indexNames(live)).toEqual(
      names.map((n) => nextIndexName(n, report.generation)).sort(),
    );
    expect(await tablesNamed(live, '*__next_*')).toEqual([]);
    expect(readdirSync(join(dataDir, 'replay'))).toEqual([]);
    // Queries use the renamed tables' indexes.
    const plan = await sql<{
      detail: string;
    }>`explain query plan select position from rm_audit_events where account_id = 'acc_1' order by position`.execute(
      live.db,
    );
    expect(plan.rows.map((r) => r.detail).join(' ')).toMatch(/USING (COVERING )?INDEX/);

    // The next replay's tag replaces this one's.
    const again = await replayReadModels({ log: stores.raw, live, dataDir });
    expect(await indexNames(live)).toEqual(
      names.map((n) => nextIndexName(n, again.generation)).sort(),
    );
    expect(await readModelChecksums(live)).toEqual(expected);
  }, 120_000);
});

describe('the copy ahead (sqlite-table-precopy)', () => {
  let dir: string;
  beforeEach(() => (dir = makeTmpDir('precopy-')));
  afterEach(() => removeTmpDir(dir));

  const auditRow = (position: number, data: string) => ({
    position,
    event_id: `e${position}`,
    stream_id: `subscription-sub_${position % 7}`,
    revision: position,
    type: 'T',
    recorded_at: '2026-01-01T00:00:00.000Z',
    subscription_id: `sub_${position % 7}`,
    account_id: `acc_${position % 3}`,
    correlation_id: 'c',
    data,
    personal: 0,
    scrubbed: 0,
  });

  it('a row updated, deleted or inserted in the shadow after the copy is copied again under the lock; a row copied ahead and left alone stays', async () => {
    const liveDb = await ReadDb.open({ dataDir: join(dir, 'live') });
    const shadowDb = await ReadDb.open({ dataDir: join(dir, 'shadow') });
    try {
      await liveDb.db
        .insertInto('rm_audit_events')
        .values([auditRow(1, '"old live"')])
        .execute();
      await shadowDb.db
        .insertInto('rm_audit_events')
        .values(Array.from({ length: 50 }, (_, i) => auditRow(i + 1, `"v${i + 1}"`)))
        .execute();
      const conn = new Database(liveDb.file!);
      try {
        conn.exec(`ATTACH DATABASE '${shadowDb.file!}' AS shadow`);
        recordShadowChanges(conn);
        const ddl = nextTableDdl(conn, 'rm_audit_events', 'gtest')!;
        const columns = (
          conn.prepare('PRAGMA main.table_info(rm_audit_events)').all() as { name: string }[]
        ).map((c) => c.name);
        await copyAhead(conn, 'rm_audit_events', 'gtest', ddl, columns, () => undefined);
        // After the copy: a scrub-like update of an old row, a delete, an insert.
        await shadowDb.db
          .updateTable('rm_audit_events')
          .set({ data: '"scrubbed"', scrubbed: 1 })
          .where('position', '=', 3)
          .execute();
        await shadowDb.db.deleteFrom('rm_audit_events').where('position', '=', 4).execute();
        await shadowDb.db
          .insertInto('rm_audit_events')
          .values([auditRow(51, '"new"')])
          .execute();
        conn.transaction(() => replaceWithNext(conn, 'rm_audit_events', 'gtest', columns))();
        const rows = conn
          .prepare('SELECT position, data, scrubbed FROM main.rm_audit_events ORDER BY position')
          .all() as { position: number; data: string; scrubbed: number }[];
        expect(rows).toHaveLength(50);
        expect(rows.find((r) => r.position === 1)?.data).toBe('"v1"');
        expect(rows.find((r) => r.position === 3)).toEqual({
          position: 3,
          data: '"scrubbed"',
          scrubbed: 1,
        });
        expect(rows.find((r) => r.position === 4)).toBeUndefined();
        expect(rows.find((r) => r.position === 51)?.data).toBe('"new"');
        expect(
          conn
            .prepare(`SELECT k FROM shadow.ops_changed WHERE tbl = 'rm_audit_events' ORDER BY k`)
            .pluck()
            .all(),
        ).toEqual([3, 4, 51]);
      } finally {
        conn.close();
      }
    } finally {
      await liveDb.close();
      await shadowDb.close();
    }
    expect(existsSync(join(dir, 'live'))).toBe(true);
  });

  it('a text key that looks like a number (subscription 00123) is recorded and copied again as text', async () => {
    const liveDb = await ReadDb.open({ dataDir: join(dir, 'live') });
    const shadowDb = await ReadDb.open({ dataDir: join(dir, 'shadow') });
    const row = (id: string, status: string) => ({
      subscription_id: id,
      account_id: 'acc_1',
      product_id: 'p',
      status,
      section: 'active',
      contract: 0,
      revision: 1,
      position: 1,
      registered_position: 1,
      state: '{}',
      updated_at: '2026-01-01T00:00:00.000Z',
    });
    try {
      await shadowDb.db
        .insertInto('rm_subscriptions')
        .values([row('00123', 'active'), row('123', 'active')])
        .execute();
      const conn = new Database(liveDb.file!);
      try {
        conn.exec(`ATTACH DATABASE '${shadowDb.file!}' AS shadow`);
        recordShadowChanges(conn);
        const columns = (
          conn.prepare('PRAGMA main.table_info(rm_subscriptions)').all() as { name: string }[]
        ).map((c) => c.name);
        await copyAhead(
          conn,
          'rm_subscriptions',
          'gtest',
          nextTableDdl(conn, 'rm_subscriptions', 'gtest')!,
          columns,
          () => undefined,
        );
        await shadowDb.db
          .updateTable('rm_subscriptions')
          .set({ status: 'expired' })
          .where('subscription_id', '=', '00123')
          .execute();
        // Recorded as the text it is (with NUMERIC affinity it became 123, which then matched
        // subscription 123 as well).
        expect(conn.prepare('SELECT k, typeof(k) AS t FROM shadow.ops_changed').all()).toEqual([
          { k: '00123', t: 'text' },
        ]);
        conn.transaction(() => replaceWithNext(conn, 'rm_subscriptions', 'gtest', columns))();
        expect(
          conn
            .prepare('SELECT subscription_id, status FROM main.rm_subscriptions ORDER BY 1')
            .all(),
        ).toEqual([
          { subscription_id: '00123', status: 'expired' },
          { subscription_id: '123', status: 'active' },
        ]);
      } finally {
        conn.close();
      }
    } finally {
      await liveDb.close();
      await shadowDb.close();
    }
  });

  it('the copy ahead goes chunk by chunk (every row once, a chunk boundary on the last row included) and stops between chunks when asked', async () => {
    const liveDb = await ReadDb.open({ dataDir: join(dir, 'live') });
    const shadowDb = await ReadDb.open({ dataDir: join(dir, 'shadow') });
    try {
      await shadowDb.db
        .insertInto('rm_audit_events')
        .values(Array.from({ length: 49 }, (_, i) => auditRow(i + 1, `"v${i + 1}"`)))
        .execute();
      const conn = new Database(liveDb.file!);
      try {
        conn.exec(`ATTACH DATABASE '${shadowDb.file!}' AS shadow`);
        const columns = (
          conn.prepare('PRAGMA main.table_info(rm_audit_events)').all() as { name: string }[]
        ).map((c) => c.name);
        const copy = (chunkRows: number, stop: () => void) =>
          copyAhead(
            conn,
            'rm_audit_events',
            'gchunks',
            nextTableDdl(conn, 'rm_audit_events', 'gchunks')!,
            columns,
            stop,
            chunkRows,
          );
        const copied = () =>
          conn
            .prepare(
              'SELECT count(*) AS n, sum(position) AS s FROM "rm_audit_events__next_gchunks"',
            )
            .get();
        // 49 rows in chunks of 7: the last chunk ends exactly on the last row.
        let stops = 0;
        await copy(7, () => void stops++);
        expect(copied()).toEqual({ n: 49, s: (49 * 50) / 2 });
        expect(stops).toBe(7);
        // Stopped after the second chunk: the table holds those rows only (the caller drops it).
        const STOP = new Error('stop');
        let chunks = 0;
        await expect(
          copy(10, () => {
            if (++chunks === 2) throw STOP;
          }),
        ).rejects.toBe(STOP);
        expect(copied()).toEqual({ n: 20, s: (20 * 21) / 2 });
      } finally {
        conn.close();
      }
    } finally {
      await liveDb.close();
      await shadowDb.close();
    }
  });

  it('two replays copying ahead at once keep to their own tables: each switch-over installs its own shadow rows', async () => {
    // Before the tables were tagged, the second copy dropped and refilled the first one's
    // table, and the first switch-over renamed that (half-filled) table over the live one.
    const liveDb = await ReadDb.open({ dataDir: join(dir, 'live') });
    const shadows = [
      await ReadDb.open({ dataDir: join(dir, 'a') }),
      await ReadDb.open({ dataDir: join(dir, 'b') }),
    ];
    try {
      for (const [i, shadowDb] of shadows.entries())
        await shadowDb.db
          .insertInto('rm_audit_events')
          .values(Array.from({ length: 30 + i * 10 }, (_, p) => auditRow(p + 1, `"${i}"`)))
          .execute();
      const conns = shadows.map((shadowDb) => {
        const conn = new Database(liveDb.file!);
        conn.exec(`ATTACH DATABASE '${shadowDb.file!}' AS shadow`);
        recordShadowChanges(conn);
        return conn;
      });
      const tags = ['ga', 'gb'];
      const columns = (
        conns[0]!.prepare('PRAGMA main.table_info(rm_audit_events)').all() as { name: string }[]
      ).map((c) => c.name);
      try {
        for (const [i, conn] of conns.entries())
          await copyAhead(
            conn,
            'rm_audit_events',
            tags[i]!,
            nextTableDdl(conn, 'rm_audit_events', tags[i]!)!,
            columns,
            () => undefined,
          );
        const rows = (conn: Database.Database) =>
          conn.prepare('SELECT count(*) AS n, max(data) AS d FROM main.rm_audit_events').get();
        conns[0]!.transaction(() => replaceWithNext(conns[0]!, 'rm_audit_events', 'ga', columns))();
        expect(rows(conns[0]!)).toEqual({ n: 30, d: '"0"' });
        conns[1]!.transaction(() => replaceWithNext(conns[1]!, 'rm_audit_events', 'gb', columns))();
        expect(rows(conns[1]!)).toEqual({ n: 40, d: '"1"' });
      } finally {
        for (const conn of conns) conn.close();
      }
    } finally {
      await liveDb.close();
      for (const shadowDb of shadows) await shadowDb.close();
    }
  });

  it('tables copied ahead by a replay that is gone are dropped; those of a running replay are kept', async () => {
    const liveDb = await ReadDb.open({ dataDir: join(dir, 'live') });
    try {
      for (const tag of ['gdead', 'grunning'])
        await sql.raw(`CREATE TABLE "${nextTable('rm_audit_events', tag)}" (x)`).execute(liveDb.db);
      const conn = new Database(liveDb.file!);
      try {
        expect(dropOrphanedNextTables(conn, new Set(['grunning']))).toEqual([
          'rm_audit_events__next_gdead',
        ]);
      } finally {
        conn.close();
      }
      expect(await tablesNamed(liveDb, '*__next_*')).toEqual(['rm_audit_events__next_grunning']);
    } finally {
      await liveDb.close();
    }
  });

  it('an index is named as migrated plus the tag of the replay that built it', () => {
    expect(nextIndexName('rm_audit_events_type', 'g1a2b')).toBe('rm_audit_events_type__g1a2b');
    expect(nextIndexName('rm_audit_events_type__g1a2b', 'g3c')).toBe('rm_audit_events_type__g3c');
    expect(() => nextIndexName('x', 'bad tag')).toThrow(/bad generation tag/);
  });
});
