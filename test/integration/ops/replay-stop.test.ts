import { openEventStores } from '@app/infrastructure';
import { readModelChecksums, replayReadModels } from '@app/ops';
import { type AppConfig, loadConfig } from '@app/platform';
import { ReadDb, ReadStore } from '@app/read-models';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { dropSchema, freshSchema, urlWithSchema } from '../read-models/support/postgres';
import { projectLive } from './project-live';
import { seedLog } from './seed-log';
import {
  postgresGenerationSchemas,
  postgresGenerationsLeft,
  sqliteGenerationsLeft,
} from './generations-left';

/**
 * replayReadModels with an AbortSignal (what `ops replay` gets when the api that started it is
 * gone, apps/ops/src/parent.ts): it stops between pages of the build, or inside the switch-over
 * by rolling it back, removes its new generation (SQLite file under DATA_DIR/read-models/,
 * PostgreSQL schema)
 * and rejects with the signal's reason; the live read models stay as they were.
 *
 * One live row is altered first (a replay would set it right): still altered afterwards, with
 * every table's checksum unchanged, means nothing of the replay reached the live tables.
 */
describe.each(['sqlite', 'postgres'] as const)('a replay stopped by its signal (%s)', (dialect) => {
  let dataDir: string;
  let schema: string | null = null;
  let stores: ReturnType<typeof openEventStores>;
  let config: AppConfig;
  let live: ReadDb;
  let head: bigint;

  beforeAll(async () => {
    dataDir = makeTmpDir(`replay-stop-${dialect}-`);
    stores = openEventStores(
      loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    );
    await seedLog(stores, 3000, { encryptEvery: 10 });
    head = (await stores.raw.headPosition())!;
    if (dialect === 'postgres') schema = freshSchema('rm_replay_stop');
    config = loadConfig({
      DATA_DIR: dataDir,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      ...(schema ? { READ_DB_URL: urlWithSchema(schema) } : {}),
    });
    live = await ReadDb.open({ dataDir, readDbUrl: config.readDbUrl });
    await projectLive(stores.raw, live, new ReadStore(live));
  }, 120_000);

  afterEach(() => jest.restoreAllMocks());

  afterAll(async () => {
    await live?.close();
    await stores?.raw.close();
    await stores?.keys.close();
    if (schema) {
      for (const s of await postgresGenerationSchemas(schema)) await dropSchema(s);
      await dropSchema(schema);
    }
    if (dataDir) removeTmpDir(dataDir);
  });

  /** Alters one live row (as drift would); returns the checksums of the live tables then. */
  const alterOneRow = async (mark: string) => {
    await live.db
      .updateTable('rm_subscriptions')
      .set({ updated_at: mark })
      .where('subscription_id', '=', 'sub_1')
      .execute();
    return readModelChecksums(live);
  };
  const sub1UpdatedAt = async () =>
    (
      await live.db
        .selectFrom('rm_subscriptions')
        .select('updated_at')
        .where('subscription_id', '=', 'sub_1')
        .executeTakeFirstOrThrow()
    ).updated_at;
  /** Generations readers do not use: SQLite directories, PostgreSQL schemas. */
  const shadowsLeft = async (): Promise<string[]> =>
    schema ? postgresGenerationsLeft(schema) : sqliteGenerationsLeft(dataDir);
  const STOPPED = new Error('stopped: the process that started it is gone');
  let stop: AbortController;
  beforeEach(() => (stop = new AbortController()));
  const replay = (more: Partial<Parameters<typeof replayReadModels>[0]>) =>
    replayReadModels({
      log: stores.raw,
      live,
      dataDir,
      readDbUrl: config.readDbUrl,
      signal: stop.signal,
      ...more,
    });

  it('a stop during the build ends it after the page in progress: rejected with the reason, the shadow removed, the live tables untouched', async () => {
    const before = await alterOneRow('altered-during-build');
    await expect(replay({ onProgress: () => stop.abort(STOPPED) })).rejects.toBe(STOPPED);
    expect(stop.signal.aborted).toBe(true);
    expect(await shadowsLeft()).toEqual([]);
    expect(await sub1UpdatedAt()).toBe('altered-during-build');
    expect(await readModelChecksums(live)).toEqual(before);
  }, 60_000);

  it('a stop inside the switch-over (live tables locked, the shadow being topped up) rolls it back: the live tables as they were, the shadow removed, the next replay switches over', async () => {
    const before = await alterOneRow('altered-during-switch');
    // The replay sees a head 200 events short, so its build stops there and the switch-over
    // tops the shadow up to the live checkpoint (the head) inside its transaction: the
    // signal is aborted by the first read of that top-up.
    const cut = head - 200n;
    jest.spyOn(stores.raw, 'headPosition').mockResolvedValueOnce(cut);
    const readAll = stores.raw.readAll.bind(stores.raw);
    let topUpReads = 0;
    jest.spyOn(stores.raw, 'readAll').mockImplementation(async (options) => {
      const batch = await readAll(options);
      if (options?.after !== undefined && options.after >= cut) {
        topUpReads++;
        stop.abort(STOPPED);
      }
      return batch;
    });
    await expect(replay({ batchSize: 100 })).rejects.toBe(STOPPED);
    expect(topUpReads).toBe(1);
    expect(await shadowsLeft()).toEqual([]);
    expect(live.generation).toBeNull();
    expect(await sub1UpdatedAt()).toBe('altered-during-switch');
    expect(await readModelChecksums(live)).toEqual(before);

    // Nothing held or left half-done: a replay without a stop switches over and sets the
    // altered row right.
    jest.restoreAllMocks();
    const report = await replay({ signal: undefined });
    expect(report).toMatchObject({ swapped: true, position: head.toString() });
    expect(await sub1UpdatedAt()).not.toBe('altered-during-switch');
    expect(await shadowsLeft()).toEqual([]);
  }, 60_000);
});
