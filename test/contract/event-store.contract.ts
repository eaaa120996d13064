import { randomUUID } from 'node:crypto';
import {
  CatchUpSubscription,
  CheckpointStore,
  EventMetadata,
  EventStore,
  NewEvent,
  RecordedEvent,
  WrongExpectedRevisionError,
} from '@app/event-store';

/**
 * One behavioural contract for every EventStore adapter (SQLite, KurrentDB).
 * Written for a shared, non-empty log: every test uses its own random stream ids and reads $all
 * only after the head it saw at the start, keeping its own streams.
 */
export interface ContractHarness {
  store: EventStore;
  /** An independent connection/client to the same log, as another process would have. */
  openAnother(): Promise<EventStore>;
  checkpoints: CheckpointStore;
  /** Closes everything the harness opened (including openAnother's) and cleans up. */
  dispose(): Promise<void>;
}

export type ContractFactory = () => Promise<ContractHarness>;

export const metadata = (over: Partial<EventMetadata> = {}): EventMetadata => ({
  correlationId: randomUUID(),
  causationId: null,
  commandId: randomUUID(),
  requestHash: null,
  actor: { actorId: 'user-1', role: 'billing-admin' },
  channel: 'contract-test',
  recordedAt: '2024-03-01T10:00:00.000Z',
  schemaVersion: 1,
  ...over,
});

export const event = (type: string, data: Record<string, unknown> = {}): NewEvent => ({
  type,
  data,
  metadata: metadata(),
});

/** Events of the given streams in a readAll page, in the order returned. */
const ours = (events: RecordedEvent[], streams: Set<string>): RecordedEvent[] =>
  events.filter((e) => streams.has(e.streamId));

/** Every event after `after` (paging through the whole tail of the log). */
async function readTail(store: EventStore, after: bigint | null): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await store.readAll({
      ...(cursor !== null ? { after: cursor } : {}),
      maxCount: 500,
    });
    if (page.length === 0) return out;
    out.push(...page);
    cursor = page[page.length - 1]!.position;
  }
}

async function expectConflict(p: Promise<unknown>, actual: number | 'no_stream'): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WrongExpectedRevisionError);
  expect((err as WrongExpectedRevisionError).actual).toBe(actual);
}

const until = async (cond: () => boolean, timeoutMs: number, what: string): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

export function runEventStoreContract(name: string, factory: ContractFactory): void {
  describe(`EventStore contract: ${name}`, () => {
    let h: ContractHarness;
    let store: EventStore;
    // Stopped after each test even when it fails, so a failure cannot leave a loop running.
    const subscriptions: CatchUpSubscription[] = [];
    const sid = (label: string): string => `${label}-${randomUUID()}`;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
      await h.dispose();
    });

    describe('expected revisions', () => {
      it('creates a stream with no_stream and numbers its events 0..n-1', async () => {
        const s = sid('sub');
        const r = await store.appendToStream(s, [event('A'), event('B'), event('C')], {
          expectedRevision: 'no_stream',
        });
        expect(r.nextRevision).toBe(2);
        const read = await store.readStream(s);
        expect(read.map((e) => e.revision)).toEqual([0, 1, 2]);
        expect(read.map((e) => e.type)).toEqual(['A', 'B', 'C']);
        expect(read[2]!.position).toBe(r.position);
      });

      it('no_stream fails once the stream exists, and the failed append writes nothing', async () => {
        const s = sid('sub');
        await store.appendToStream(s, [event('A')], { expectedRevision: 'no_stream' });
        await expectConflict(
          store.appendToStream(s, [event('B'), event('C')], { expectedRevision: 'no_stream' }),
          0,
        );
        expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A']);
      });

      it('stream_exists fails on a missing stream and succeeds on an existing one', async () => {
        const s = sid('sub');
        await expectConflict(
          store.appendToStream(s, [event('A')], { expectedRevision: 'stream_exists' }),
          'no_stream',
        );
        expect(await store.readStream(s)).toEqual([]);
        await store.appendToStream(s, [event('A')], { expectedRevision: 'any' });
        const r = await store.appendToStream(s, [event('B')], {
          expectedRevision: 'stream_exists',
        });
        expect(r.nextRevision).toBe(1);
      });

      it('an exact revision must equal the last revision (stale, ahead and missing all fail)', async () => {
        const s = sid('sub');
        await expectConflict(
          store.appendToStream(s, [event('A')], { expectedRevision: 0 }),
          'no_stream',
        );
        await store.appendToStream(s, [event('A'), event('B')], { expectedRevision: 'no_stream' });
        await expectConflict(store.appendToStream(s, [event('X')], { expectedRevision: 0 }), 1);
        await expectConflict(store.appendToStream(s, [event('X')], { expectedRevision: 5 }), 1);
        const r = await store.appendToStream(s, [event('C')], { expectedRevision: 1 });
        expect(r.nextRevision).toBe(2);
        expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
      });

      it('any appends whatever the state', async () => {
        const s = sid('sub');
        await store.appendToStream(s, [event('A')], { expectedRevision: 'any' });
        const r = await store.appendToStream(s, [event('B')], { expectedRevision: 'any' });
        expect(r.nextRevision).toBe(1);
      });

      it('refuses an empty append', async () => {
        await expect(
          store.appendToStream(sid('sub'), [], { expectedRevision: 'any' }),
        ).rejects.toThrow();
      });

      it('of two writers appending at the same expected revision, exactly one wins', async () => {
        const s = sid('sub');
        await store.appendToStream(s, [event('Opened')], { expectedRevision: 'no_stream' });
        const other = await h.openAnother();
        const results = await Promise.allSettled([
          store.appendToStream(s, [event('FromA')], { expectedRevision: 0 }),
          other.appendToStream(s, [event('FromB')], { expectedRevision: 0 }),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect(rejected.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect(await store.readStream(s)).toHaveLength(2);
      });
    });

    describe('reading', () => {
      it('readStream of a missing stream is []', async () => {
        expect(await store.readStream(sid('nothing'))).toEqual([]);
      });

      it('readStream honours fromRevision and maxCount', async () => {
        const s = sid('sub');
        const events = Array.from({ length: 10 }, (_, i) => event('E', { i }));
        await store.appendToStream(s, events, { expectedRevision: 'no_stream' });
        const page = await store.readStream(s, { fromRevision: 3, maxCount: 4 });
        expect(page.map((e) => e.revision)).toEqual([3, 4, 5, 6]);
        expect(page.map((e) => e.data['i'])).toEqual([3, 4, 5, 6]);
        expect(await store.readStream(s, { fromRevision: 10 })).toEqual([]);
        expect((await store.readStream(s, { fromRevision: 8, requiresLeader: true })).length).toBe(
          2,
        );
      });

      it('reads issued together (as a burst of jobs issues them) each get their own stream and options', async () => {
        const [a, b, empty] = [sid('a'), sid('b'), sid('none')];
        await store.appendToStream(a, [event('A0'), event('A1'), event('A2')], {
          expectedRevision: 'no_stream',
        });
        await store.appendToStream(b, [event('B0')], { expectedRevision: 'no_stream' });
        // Issued in one turn: the adapters may answer them with one statement.
        const reads = await Promise.all([
          store.readStream(a),
          store.readStream(b),
          store.readStream(empty),
          store.readStream(a, { fromRevision: 1, maxCount: 1 }),
          store.readStream(a, { fromRevision: 2 }),
          store.readStream(a, { maxCount: 0 }),
          store.readStream(b),
        ]);
        expect(
          reads.map((events) => events.map((e) => `${e.streamId === a ? 'a' : 'b'}:${e.type}`)),
        ).toEqual([['a:A0', 'a:A1', 'a:A2'], ['b:B0'], [], ['a:A1'], ['a:A2'], [], ['b:B0']]);
        // The same as read one at a time, positions and payloads included.
        expect(reads[0]).toEqual(await store.readStream(a));
        expect(reads[1]).toEqual(await store.readStream(b));
      });

      it('keeps eventId, type, data and metadata exactly', async () => {
        const s = sid('sub');
        const e: NewEvent = {
          eventId: randomUUID(),
          type: 'CancellationRequested',
          data: {
            subscriptionId: s,
            at: '2024-03-01T10:00:00.000Z',
            n: 1.5,
            ok: true,
            none: null,
            list: [1, 'a', { b: [] }],
          },
          metadata: metadata({ causationId: randomUUID(), requestHash: 'sha256:abc' }),
        };
        await store.appendToStream(s, [e], { expectedRevision: 'no_stream' });
        const [read] = await store.readStream(s);
        expect(read).toMatchObject({ eventId: e.eventId, streamId: s, revision: 0, type: e.type });
        expect(read!.data).toEqual(e.data);
        expect(read!.metadata).toEqual(e.metadata);
        expect(typeof read!.position).toBe('bigint');
      });

      it('positions strictly increase in append order across streams', async () => {
        const before = await store.headPosition();
        const streams = [sid('a'), sid('b'), sid('c')];
        const appended: Array<{ stream: string; position: bigint }> = [];
        for (let i = 0; i < 12; i++) {
          const stream = streams[i % 3]!;
          const r = await store.appendToStream(stream, [event('E', { i })], {
            expectedRevision: 'any',
          });
          appended.push({ stream, position: r.position });
        }
        const read = ours(await readTail(store, before), new Set(streams));
        expect(read.map((e) => e.data['i'])).toEqual(Array.from({ length: 12 }, (_, i) => i));
        expect(read.map((e) => e.position)).toEqual(appended.map((a) => a.position));
        for (let i = 1; i < read.length; i++)
          expect(read[i]!.position > read[i - 1]!.position).toBe(true);
        const head = await store.headPosition();
        expect(head).not.toBeNull();
        expect(head! >= appended[appended.length - 1]!.position).toBe(true);
      });

      it('readAll pages with after (exclusive) and maxCount, without gaps or repeats', async () => {
        const before = await store.headPosition();
        const s = sid('paged');
        await store.appendToStream(
          s,
          Array.from({ length: 25 }, (_, i) => event('E', { i })),
          {
            expectedRevision: 'no_stream',
          },
        );
        const seen: RecordedEvent[] = [];
        let cursor = before;
        for (let pages = 0; pages < 100; pages++) {
          const page = await store.readAll({
            ...(cursor !== null ? { after: cursor } : {}),
            maxCount: 4,
          });
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(4);
          if (cursor !== null) expect(page[0]!.position > cursor).toBe(true);
          seen.push(...page);
          cursor = page[page.length - 1]!.position;
        }
        const mine = ours(seen, new Set([s]));
        expect(mine.map((e) => e.revision)).toEqual(Array.from({ length: 25 }, (_, i) => i));
        expect(new Set(seen.map((e) => e.eventId)).size).toBe(seen.length);
        expect(seen.some((e) => e.type.startsWith('$') || e.streamId.startsWith('$'))).toBe(false);
      });

      it('reads back a 10,000-event stream whole', async () => {
        const s = sid('long');
        for (let batch = 0; batch < 20; batch++) {
          const events = Array.from({ length: 500 }, (_, i) =>
            event('Tick', { i: batch * 500 + i }),
          );
          await store.appendToStream(s, events, {
            expectedRevision: batch === 0 ? 'no_stream' : batch * 500 - 1,
          });
        }
        const all = await store.readStream(s);
        expect(all).toHaveLength(10_000);
        // One comparison, not 20,000 expect calls (those alone take seconds).
        const wrong = all.filter(
          (e, i) => e.revision !== i || e.data['i'] !== i || e.streamId !== s,
        );
        expect(wrong).toEqual([]);
      }, 60_000);
    });

    describe('payloads', () => {
      it('round-trips a 1 MB payload exactly', async () => {
        // Just under KurrentDB's default 1 MiB maximum append size, metadata included.
        const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_';
        let blob = '';
        let seed = 42;
        while (blob.length < 1_000_000) {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          blob += alphabet[seed % alphabet.length];
        }
        const s = sid('big');
        const data = { blob, size: blob.length };
        await store.appendToStream(s, [event('Big', data)], { expectedRevision: 'no_stream' });
        const [read] = await store.readStream(s);
        expect(read!.data['size']).toBe(1_000_000);
        expect(read!.data['blob'] === blob).toBe(true);
      }, 30_000);

      it('round-trips unicode exactly (emoji, RTL, combining marks, astral, escapes; no NUL)', async () => {
        const s = sid('unicode');
        const data = {
          emoji: '👩🏽‍💻 🇫🇷 🏳️‍🌈 ❤️',
          arabic: 'مرحبا بالعالم',
          hebrew: 'שלום עולם',
          mixed: 'abc \u202Eעברית\u202C def',
          combining: 'e\u0301 n\u0303 \u1E9B\u0323',
          cjk: '漢字かなカナ한국어',
          astral: '𝄞 𠜎 🀄',
          escapes: 'quote " backslash \\ newline \n tab \t cr \r',
          separators: 'line\u2028para\u2029bom\uFEFF zwj\u200D',
          'ключ 🔑': 'value in a unicode key',
        };
        await store.appendToStream(s, [event('Unicode', data)], { expectedRevision: 'no_stream' });
        const [read] = await store.readStream(s);
        expect(read!.data).toEqual(data);
        for (const [k, v] of Object.entries(data)) {
          expect(Buffer.from(read!.data[k] as string, 'utf8').equals(Buffer.from(v, 'utf8'))).toBe(
            true,
          );
        }
      });
    });

    describe('waiting for appends', () => {
      it("waitForAppend resolves on another connection's append, times out otherwise, stops on abort", async () => {
        const head = await store.headPosition();
        let t = Date.now();
        await store.waitForAppend(head, 150);
        expect(Date.now() - t).toBeGreaterThanOrEqual(100);

        const ac = new AbortController();
        t = Date.now();
        setTimeout(() => ac.abort(), 50);
        await store.waitForAppend(head, 10_000, ac.signal);
        expect(Date.now() - t).toBeLessThan(2_000);

        const other = await h.openAnother();
        t = Date.now();
        const waiting = store.waitForAppend(head, 10_000);
        await other.appendToStream(sid('wake'), [event('Wake')], { expectedRevision: 'any' });
        await waiting;
        expect(Date.now() - t).toBeLessThan(2_000);

        // Already past: resolves at once.
        t = Date.now();
        await store.waitForAppend(head, 10_000);
        expect(Date.now() - t).toBeLessThan(1_000);
      });
    });

    describe('catch-up subscription', () => {
      it('delivers every event once, in order, while 3 writers append; resumes after stop/start from the stored checkpoint', async () => {
        const name = sid('projection');
        const before = await store.headPosition();
        if (before !== null) await h.checkpoints.save(name, before);

        const prefix = sid('cu');
        const writers = await Promise.all([h.openAnother(), h.openAnother(), h.openAnother()]);
        const appended: string[] = [];
        const delivered: RecordedEvent[] = [];
        const handle = async (events: RecordedEvent[]): Promise<void> => {
          for (const e of events) if (e.streamId.startsWith(prefix)) delivered.push(e);
        };
        const errors: unknown[] = [];
        const subscribe = (): CatchUpSubscription => {
          const sub = new CatchUpSubscription({
            name,
            store,
            checkpoints: h.checkpoints,
            handle,
            batchSize: 7,
            idleWaitMs: 200,
            onError: (e) => errors.push(e),
          });
          subscriptions.push(sub);
          return sub;
        };

        const PER_WRITER = 40;
        const write = async (w: EventStore, k: number): Promise<void> => {
          const stream = `${prefix}-w${k}`;
          let revision = -1;
          for (let i = 0; i < PER_WRITER;) {
            // Mix single and two-event appends; yield so writers interleave.
            const n = i % 5 === 4 && i + 2 <= PER_WRITER ? 2 : 1;
            const events = Array.from({ length: n }, (_, j) => ({
              ...event('W', { k, i: i + j }),
              eventId: randomUUID(),
            }));
            await w.appendToStream(stream, events, {
              expectedRevision: revision < 0 ? 'no_stream' : revision,
            });
            appended.push(...events.map((e) => e.eventId));
            revision += n;
            i += n;
            await new Promise((r) => setTimeout(r, 1 + ((i * 7 + k) % 4)));
          }
        };

        const first = subscribe();
        first.start();
        const writing = Promise.all(writers.map((w, k) => write(w, k)));
        await until(() => delivered.length >= 30, 20_000, 'first deliveries');
        await first.stop();
        const deliveredByFirst = delivered.length;
        // The checkpoint covers everything delivered (on a shared log it may sit on a later,
        // foreign event of the same batch).
        const stored = await h.checkpoints.load(name);
        expect(stored! >= delivered[delivered.length - 1]!.position).toBe(true);

        // A new instance: it can only know where to resume from the checkpoint store.
        const second = subscribe();
        second.start();
        await writing;
        await until(() => delivered.length >= appended.length, 20_000, 'all deliveries');
        await second.stop();

        expect(deliveredByFirst).toBeLessThan(appended.length);
        expect(delivered.map((e) => e.eventId).sort()).toEqual([...appended].sort());
        for (let i = 1; i < delivered.length; i++) {
          expect(delivered[i]!.position > delivered[i - 1]!.position).toBe(true);
        }
        for (let k = 0; k < 3; k++) {
          const revs = delivered
            .filter((e) => e.streamId === `${prefix}-w${k}`)
            .map((e) => e.revision);
          expect(revs).toEqual(Array.from({ length: PER_WRITER }, (_, i) => i));
        }
        expect((await h.checkpoints.load(name))! >= delivered[delivered.length - 1]!.position).toBe(
          true,
        );
        expect(second.lastProgressAt).not.toBeNull();
        expect(errors).toEqual([]);
      }, 60_000);
    });
  });
}
