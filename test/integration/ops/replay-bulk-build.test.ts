import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import {
  fold,
  subscriptionDecider,
  type SubscriptionEvent,
  subscriptionStreamId,
} from '@app/domain';
import type { NewEvent } from '@app/event-store';
import { type EventStores, openEventStores } from '@app/infrastructure';
import { readModelChecksums, replayReadModels } from '@app/ops';
import { loadConfig } from '@app/platform';
import {
  READ_MODELS_PROJECTION,
  ReadDb,
  ReadModelProjection,
  ReadStore,
  type Upcast,
} from '@app/read-models';
import {
  type BulkBuildOptions,
  type BulkBuildResult,
  BulkBuildUnsupportedError,
  bulkBuildReadModels,
} from '../../../libs/ops/src/read-model-bulk-build';
import { UPCASTERS } from './fixtures/renamed-type-upcasters';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { seedLog } from './seed-log';

/**
 * The replay's bulk build (read-model-bulk-build.ts) against the live projection, on a log with
 * every case the projection handles: encrypted personal fields, scrubbed subscriptions and
 * accounts (scrubs before and after the events arrived), purge receipts, contract confirmations
 * (one delivered), legal holds placed and released, an erasure, an event type only an upcaster
 * knows, a type nobody knows, a stream that is neither a subscription nor an account, a
 * `recordedAt` with an offset, streams interleaved event by event. The rebuilt tables must have
 * the checksums of the live ones.
 */
describe('replay bulk build = live projection (SQLite)', () => {
  let dataDir: string;
  let stores: EventStores;
  let live: ReadDb;
  let liveStore: ReadStore;
  /** An upcaster for an event type that was renamed: the audit row keeps the stored type. */
  const upcast: Upcast = (e) => UPCASTERS.reduce((x, up) => up(x), e);
  /** The same, as a module the fold threads load (functions do not cross threads). */
  const upcasterModule = {
    file: require.resolve('./fixtures/renamed-type-upcasters'),
    name: 'UPCASTERS',
  };

  beforeAll(async () => {
    dataDir = makeTmpDir('replay-bulk-');
    stores = openEventStores(
      loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    );
    await seedLog(stores, 3000, { encryptEvery: 3, concurrency: 50 });
    const raw = stores.raw;
    const meta = (over: Partial<NewEvent['metadata']> = {}): NewEvent['metadata'] => ({
      correlationId: 'corr-extra',
      causationId: null,
      commandId: 'cmd-extra',
      actor: { actorId: 'usr_ops', role: 'operator' },
      channel: 'operator',
      recordedAt: '2025-06-01T10:00:00.000Z',
      schemaVersion: 1,
      ...over,
    });

    // Two subscriptions re-written event by event, interleaved, one under a renamed event type,
    // some events with a recordedAt not in canonical form: an offset, a day the month does not
    // have (Date.parse rolls it over), hour 24, a valid 31st.
    const ODD_INSTANTS: Record<number, string> = {
      1: '2025-01-12T01:30:00+01:00',
      2: '2025-02-29T10:00:00.000Z',
      3: '2025-01-10T24:00:00.000Z',
      4: '2025-01-31T10:00:00.000Z',
    };
    const copies = await Promise.all(
      ['sub_4', 'sub_7'].map(async (id) => ({
        id,
        events: await raw.readStream(`subscription-${id}`),
      })),
    );
    const max = Math.max(...copies.map((c) => c.events.length));
    for (let i = 0; i < max; i++)
      for (const { id, events } of copies) {
        const e = events[i];
        if (!e) continue;
        const data = JSON.parse(JSON.stringify(e.data).replaceAll(id, `mix_${id}`)) as Record<
          string,
          unknown
        >;
        await raw.appendToStream(
          `subscription-mix_${id}`,
          [
            {
              type: e.type === 'AutoRenewDisabled' ? 'AutoRenewSwitchedOff' : e.type,
              data,
              metadata: ODD_INSTANTS[i]
                ? { ...e.metadata, recordedAt: ODD_INSTANTS[i]! }
                : e.metadata,
            },
          ],
          { expectedRevision: i === 0 ? 'no_stream' : i - 1 },
        );
      }
    // Late events of early subscriptions: cancellations withdrawn (the real decider), long after
    // their streams' other events.
    let withdrawn = 0;
    for (let n = 0; n < 40 && withdrawn < 3; n++) {
      const streamId = subscriptionStreamId(`sub_${n}`);
      const events = await raw.readStream(streamId);
      const state = fold(
        subscriptionDecider,
        events.map((e) => ({ type: e.type, data: e.data }) as unknown as SubscriptionEvent),
      );
      if (state.status !== 'cancellation_pending') continue;
      const now = '2025-05-01T00:00:00.000Z';
      const decided = subscriptionDecider.decide(
        {
          type: 'WithdrawCancellation',
          data: {
            subscriptionId: `sub_${n}`,
            requestedBy: { actorId: 'usr_admin', role: 'billing_admin' },
            channel: 'support',
            now,
          },
        },
        state,
      );
      await raw.appendToStream(
        streamId,
        decided.map((e) => ({
          type: e.type,
          data: e.data,
          metadata: meta({ recordedAt: now }),
        })),
        { expectedRevision: events.length - 1 },
      );
      withdrawn++;
    }
    expect(withdrawn).toBe(3);
    await raw.appendToStream(
      'subscription-mix_sub_4',
      [{ type: 'SubscriptionNoteAdded', data: { note: 'not a known type' }, metadata: meta() }],
      { expectedRevision: 'any' },
    );
    await raw.appendToStream(
      'maintenance-1',
      [{ type: 'MaintenanceWindow', data: { minutes: 5 }, metadata: meta({ actor: null }) }],
      { expectedRevision: 'no_stream' },
    );
    // Account acc_0-sub: hold released (personal reason, encrypted) and an erasure.
    await stores.store.appendToStream(
      'account-acc_0-sub',
      [
        {
          type: 'LegalHoldReleased',
          data: {
            accountId: 'acc_0-sub',
            holdId: 'hold-0',
            releasedAt: '2025-06-01T10:00:00.000Z',
            requestedBy: { actorId: 'usr_ops', role: 'operator' },
            reason: 'matter closed, says Jane Roe',
          },
          metadata: meta(),
        },
        {
          type: 'PersonalDataErased',
          data: {
            accountId: 'acc_0-sub',
            erasedAt: '2025-06-02T10:00:00.000Z',
            requestedBy: { actorId: 'usr_ops', role: 'operator' },
            reason: 'R17 request',
            receipt: { keysShredded: [], readModelRowsScrubbed: 0 },
          },
          metadata: meta({ recordedAt: '2025-06-02T10:00:00.000Z' }),
        },
      ],
      { expectedRevision: 0 },
    );

    live = await ReadDb.open({ dataDir });
    liveStore = new ReadStore(live);
    const projection = new ReadModelProjection(live, upcast);
    const project = async () => {
      let after = (await liveStore.checkpoint()) ?? undefined;
      for (;;) {
        // Odd batch sizes: streams cross batch boundaries.
        const batch = await raw.readAll({ ...(after ? { after } : {}), maxCount: 7 });
        if (batch.length === 0) return;
        await projection.apply(batch, READ_MODELS_PROJECTION);
        after = batch[batch.length - 1]!.position;
      }
    };
    await project();
    // Scrubs after the events (rows scrubbed in place) ...
    const personal = await live.db
      .selectFrom('rm_audit_events')
      .select(['subscription_id', 'account_id'])
      .where('personal', '=', 1)
      .where('type', '=', 'CancellationRequested')
      .orderBy('position')
      .limit(2)
      .execute();
    expect(personal).toHaveLength(2);
    expect(await liveStore.scrubSubscription(personal[0]!.subscription_id!)).toBeGreaterThan(0);
    expect(await liveStore.scrubAccount(personal[1]!.account_id!)).toBeGreaterThan(0);
    // ... and before one (stored scrubbed when it arrives): a hold placed on a scrubbed account.
    await liveStore.scrubAccount('acc_9-sub');
    await stores.store.appendToStream(
      'account-acc_9-sub',
      [
        {
          type: 'LegalHoldPlaced',
          data: {
            accountId: 'acc_9-sub',
            holdId: 'hold-late',
            placedAt: '2025-07-01T00:00:00.000Z',
            requestedBy: { actorId: 'usr_ops', role: 'operator' },
            reason: 'late hold naming John Doe',
          },
          metadata: meta({ recordedAt: '2025-07-01T00:00:00.000Z' }),
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    await project();
  }, 120_000);

  afterAll(async () => {
    await live?.close();
    await stores?.raw.close();
    await stores?.keys.close();
    if (dataDir) removeTmpDir(dataDir);
  });

  it('the log holds every case', async () => {
    const types = (
      await sql<{ type: string; n: number }>`select type, count(*) as n from rm_audit_events
        group by type`.execute(live.db)
    ).rows.map((r) => r.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'CancellationRequested',
        'ProductDataPurged',
        'LegalHoldPlaced',
        'LegalHoldReleased',
        'PersonalDataErased',
        'AutoRenewSwitchedOff',
        'SubscriptionNoteAdded',
        'MaintenanceWindow',
      ]),
    );
    const instants = (
      await live.db
        .selectFrom('rm_audit_events')
        .select('recorded_at')
        .where('stream_id', '=', 'subscription-mix_sub_4')
        .execute()
    ).map((r) => r.recorded_at);
    expect(instants).toEqual(
      expect.arrayContaining([
        '2025-01-12T00:30:00.000Z',
        '2025-03-01T10:00:00.000Z',
        '2025-01-11T00:00:00.000Z',
        '2025-01-31T10:00:00.000Z',
      ]),
    );
    const c = await readModelChecksums(live);
    expect(c.rm_purge_receipts.rows).toBeGreaterThan(0);
    expect(c.rm_confirmations.rows).toBeGreaterThan(0);
    expect(c.rm_accounts.rows).toBeGreaterThan(0);
    const counts = (
      await sql<{
        personal: number;
        scrubbed: number;
        n: number;
      }>`select personal, scrubbed, count(*) as n from rm_audit_events group by personal, scrubbed`.execute(
        live.db,
      )
    ).rows;
    expect(counts.find((r) => r.personal === 1)?.n).toBeGreaterThan(0);
    expect(counts.find((r) => r.scrubbed === 1)?.n).toBeGreaterThan(2);
  });

  it('a dry run rebuilds tables identical to the live ones (the bulk build, then the top-up)', async () => {
    const report = await replayReadModels({
      log: stores.raw,
      live,
      dataDir,
      upcast,
      upcasterModule,
      dryRun: true,
    });
    expect(report.identical).toBe(true);
    expect(report.events).toBe(Number(await stores.raw.headPosition()));
  }, 60_000);

  /**
   * The bulk build of the whole log into a fresh shadow holding the live scrub markers (as the
   * replay prepares it), with these options; `inspect` sees the result and the rebuilt database.
   */
  type BuildOptions = Omit<BulkBuildOptions, 'logFile' | 'shadowFile' | 'until'>;
  async function buildIntoShadow(
    options: BuildOptions | ((shadowFile: string) => BuildOptions),
    inspect: (result: BulkBuildResult, rebuilt: ReadDb) => Promise<void> = async () => undefined,
    /** Right after the build, before the shadow is opened again. */
    built: (shadowFile: string) => void = () => undefined,
  ): Promise<BulkBuildResult> {
    const shadowDir = makeTmpDir('replay-bulk-shadow-');
    try {
      const shadow = await ReadDb.open({ dataDir: shadowDir });
      try {
        await shadow.db
          .insertInto('rm_scrubs')
          .values(await live.db.selectFrom('rm_scrubs').selectAll().execute())
          .execute();
      } finally {
        await shadow.close();
      }
      const result = await bulkBuildReadModels({
        logFile: join(dataDir, 'events.sqlite'),
        shadowFile: shadow.file!,
        until: (await stores.raw.headPosition())!,
        ...(typeof options === 'function' ? options(shadow.file!) : options),
      });
      built(shadow.file!);
      const rebuilt = await ReadDb.open({ dataDir: shadowDir });
      try {
        await inspect(result, rebuilt);
      } finally {
        await rebuilt.close();
      }
      return result;
    } finally {
      removeTmpDir(shadowDir);
    }
  }

  it.each([
    // The upcasters as a module only: this thread loads it too.
    ['evicted ids remembered, upcasters as a module only', undefined, false],
    // Past 10 evicted ids, every cache miss looks its row up (bounded memory).
    ['every cache miss looking its row up', 10, true],
  ])(
    'with a tiny cache and small pages (rows written, read back, written again) the rows are the same: %s',
    async (_, maxEvictedIds, withFunction) => {
      await buildIntoShadow(
        {
          ...(withFunction ? { upcast } : {}),
          upcasterModule,
          foldThreads: 3,
          pageSize: 5,
          maxCachedStreams: 2,
          ...(maxEvictedIds === undefined ? {} : { maxEvictedIds }),
        },
        async (result, rebuilt) => {
          // Streams folded by three threads (two of them loading the upcasters module themselves).
          expect(result.foldThreads).toBe(3);
          expect(result.events).toBe(Number(await stores.raw.headPosition()));
          expect(result.reloads).toBeGreaterThan(0);
          expect(await readModelChecksums(rebuilt)).toEqual(await readModelChecksums(live));
          expect(await new ReadStore(rebuilt).checkpoint()).toBe(await liveStore.checkpoint());
        },
      );
    },
    60_000,
  );

  it('the scratch files and the shadow are written without a WAL (journal in memory), and come out with the live checksums', async () => {
    // better-sqlite3's defensive mode ignores journal_mode=OFF: the shadow, made in WAL mode by
    // ReadDb.open, stayed in WAL through the whole build, and every page was written twice.
    // Bytes 18 and 19 of a SQLite file's header are 2 in WAL mode, 1 with a rollback journal:
    // the fold threads' scratch files are read while the build goes on (every thread past a
    // page), the shadow right after the build has copied them into it.
    const headers = new Map<string, Buffer>();
    const header = (file: string) => readFileSync(file).subarray(18, 20);
    await buildIntoShadow(
      (shadowFile) => ({
        upcasterModule,
        foldThreads: 2,
        pageSize: 5,
        onPage: (_, position) => {
          if (position > 0n && headers.size === 0)
            for (const i of [0, 1]) headers.set(`fold${i}`, header(`${shadowFile}.fold${i}`));
        },
      }),
      async (_, rebuilt) => {
        expect(await readModelChecksums(rebuilt)).toEqual(await readModelChecksums(live));
      },
      (shadowFile) => headers.set('shadow', header(shadowFile)),
    );
    expect(Object.fromEntries(headers)).toEqual({
      fold0: Buffer.from([1, 1]),
      fold1: Buffer.from([1, 1]),
      shadow: Buffer.from([1, 1]),
    });
  }, 60_000);

  it('an upcaster that moves events to another stream stops a parallel build (BulkBuildUnsupportedError: the replay falls back)', async () => {
    await expect(
      buildIntoShadow({
        upcasterModule: {
          file: require.resolve('./fixtures/stream-moving-upcasters'),
          name: 'UPCASTERS',
        },
        foldThreads: 2,
      }),
    ).rejects.toBeInstanceOf(BulkBuildUnsupportedError);
  }, 60_000);

  it("an upcaster that assigns metadata in place (as it may on the store's plain events) builds the same rows", async () => {
    const assigning: Upcast = (e) => {
      const out = upcast(e);
      if (out === e) e.metadata = { ...e.metadata };
      return out;
    };
    await buildIntoShadow({ upcast: assigning }, async (result, rebuilt) => {
      // A function alone cannot be handed to another thread: one fold thread, this one.
      expect(result.foldThreads).toBe(1);
      expect(await readModelChecksums(rebuilt)).toEqual(await readModelChecksums(live));
    });
  }, 60_000);

  it('a replay keeps the delivery state of the confirmations and switches to identical tables', async () => {
    const first = await live.db
      .selectFrom('rm_confirmations')
      .select('event_id')
      .orderBy('event_id')
      .executeTakeFirstOrThrow();
    await live.db
      .updateTable('rm_confirmations')
      .set({ status: 'delivered', attempts: 1, delivered_at: '2025-06-01T10:00:01.000Z' })
      .where('event_id', '=', first.event_id)
      .execute();
    const report = await replayReadModels({
      log: stores.raw,
      live,
      dataDir,
      upcast,
      compare: true,
    });
    expect(report).toMatchObject({ swapped: true, identical: true });
    const row = await live.db
      .selectFrom('rm_confirmations')
      .selectAll()
      .where('event_id', '=', first.event_id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'delivered', attempts: 1 });
  }, 60_000);

  it('a log with JSON text the store did not write rebuilds the rows the live projection wrote', async () => {
    const dir = makeTmpDir('replay-bulk-odd-');
    const odd = openEventStores(
      loadConfig({ DATA_DIR: dir, NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    );
    try {
      await odd.raw.appendToStream(
        'maintenance-2',
        [
          {
            type: 'MaintenanceWindow',
            data: { minutes: 5 },
            metadata: {
              correlationId: 'c',
              causationId: null,
              commandId: null,
              actor: null,
              channel: null,
              recordedAt: '2025-06-01T10:00:00.000Z',
              schemaVersion: 1,
            },
          },
        ],
        { expectedRevision: 'no_stream' },
      );
      // Written by another tool: spaces after the colons.
      const db = new Database(join(dir, 'events.sqlite'));
      db.prepare(`update events set data = '{"minutes": 5}' where position = 1`).run();
      db.close();
      await seedLog(odd, 200, { encryptEvery: 2 });
      const oddLive = await ReadDb.open({ dataDir: dir });
      try {
        const projection = new ReadModelProjection(oddLive);
        await projection.apply(await odd.raw.readAll(), READ_MODELS_PROJECTION);
        const report = await replayReadModels({
          log: odd.raw,
          live: oddLive,
          dataDir: dir,
          dryRun: true,
        });
        expect(report.identical).toBe(true);
        const audit = await oddLive.db
          .selectFrom('rm_audit_events')
          .select('data')
          .where('position', '=', 1)
          .executeTakeFirstOrThrow();
        expect(audit.data).toBe('{"minutes":5}');
      } finally {
        await oddLive.close();
      }
    } finally {
      await odd.raw.close();
      await odd.keys.close();
      removeTmpDir(dir);
    }
  }, 60_000);
});
