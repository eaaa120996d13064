import { join } from 'node:path';
import { useTmpDir } from '../../../../test/support/tmp-dir';
import { NewEvent, RecordedEvent } from '../event-store.port';
import { SqliteEventStore } from '../sqlite/sqlite-event-store';
import {
  CatchUpSubscription,
  CatchUpSubscriptionOptions,
  SubscriptionErrorContext,
} from './catch-up-subscription';
import { InMemoryCheckpointStore } from './in-memory-checkpoint-store';
import { SqliteCheckpointStore } from './sqlite-checkpoint-store';

const ev = (i: number): NewEvent => ({
  type: 'E',
  data: { i },
  metadata: {
    correlationId: 'c',
    causationId: null,
    commandId: null,
    actor: null,
    channel: null,
    recordedAt: '2024-01-01T00:00:00.000Z',
    schemaVersion: 1,
  },
});

const until = async (
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 5000,
): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('CatchUpSubscription', () => {
  const tmp = useTmpDir('es-sub-');
  let store: SqliteEventStore;
  beforeEach(() => {
    store = SqliteEventStore.open(join(tmp(), 'events.sqlite'));
  });
  // Stopped after each test, even a failed one, before the store closes under them.
  const subs: CatchUpSubscription[] = [];
  const subscription = (o: CatchUpSubscriptionOptions): CatchUpSubscription => {
    const sub = new CatchUpSubscription(o);
    subs.push(sub);
    return sub;
  };
  afterEach(async () => {
    await Promise.all(subs.splice(0).map((s) => s.stop()));
    await store.close();
  });
  const append = async (from: number, n: number): Promise<void> => {
    for (let i = from; i < from + n; i++)
      await store.appendToStream('s', [ev(i)], { expectedRevision: 'any' });
  };
  const ids = (events: RecordedEvent[]): unknown[] => events.map((e) => e.data['i']);

  it('retries a failing handler with backoff, reports it, and neither skips nor advances past the batch', async () => {
    await append(0, 10);
    const checkpoints = new InMemoryCheckpointStore();
    const seen: RecordedEvent[] = [];
    const errors: SubscriptionErrorContext[] = [];
    let failuresLeft = 2;
    const sub = subscription({
      name: 'p',
      store,
      checkpoints,
      batchSize: 4,
      retry: { initialDelayMs: 5, maxDelayMs: 20 },
      onError: (_e, ctx) => errors.push(ctx),
      handle: async (events) => {
        if (events.some((e) => e.data['i'] === 5) && failuresLeft-- > 0) {
          // The checkpoint must still be at the end of the previous batch while we fail.
          expect(await checkpoints.load('p')).toBe(4n);
          throw new Error('projection down');
        }
        seen.push(...events);
      },
    });
    sub.start();
    await until(() => seen.length === 10, 'all events');
    await sub.stop();
    expect(ids(seen)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(errors.map((e) => [e.stage, e.attempt, e.retryInMs])).toEqual([
      ['handle', 1, 5],
      ['handle', 2, 10],
    ]);
    expect(sub.health.failing).toBe(false);
    expect(await checkpoints.load('p')).toBe(10n);
  });

  it('retries a failing checkpoint save without handling the batch again', async () => {
    await append(0, 3);
    const checkpoints = new InMemoryCheckpointStore();
    let saveFailures = 2;
    const save = checkpoints.save.bind(checkpoints);
    checkpoints.save = async (name, p) => {
      if (saveFailures-- > 0) throw new Error('disk full');
      return save(name, p);
    };
    const batches: unknown[][] = [];
    const stages: string[] = [];
    const sub = subscription({
      name: 'p',
      store,
      checkpoints,
      retry: { initialDelayMs: 1 },
      onError: (_e, ctx) => stages.push(ctx.stage),
      handle: async (events) => void batches.push(ids(events)),
    });
    sub.start();
    await until(async () => (await checkpoints.load('p')) === 3n, 'checkpoint');
    await sub.stop();
    expect(batches).toEqual([[0, 1, 2]]);
    expect(stages).toEqual(['save-checkpoint', 'save-checkpoint']);
  });

  it('keeps going when the store fails to read, reporting the failure', async () => {
    await append(0, 2);
    const readAll = store.readAll.bind(store);
    let readFailures = 1;
    store.readAll = async (o) => {
      if (readFailures-- > 0) throw new Error('SQLITE_BUSY');
      return readAll(o);
    };
    const seen: RecordedEvent[] = [];
    const stages: string[] = [];
    const sub = subscription({
      name: 'p',
      store,
      checkpoints: new InMemoryCheckpointStore(),
      retry: { initialDelayMs: 1 },
      onError: (_e, ctx) => stages.push(ctx.stage),
      handle: async (events) => void seen.push(...events),
    });
    sub.start();
    await until(() => seen.length === 2, 'events');
    await sub.stop();
    expect(stages).toEqual(['read']);
  });

  it('stop() lets the batch in hand finish and be checkpointed; start() resumes after it', async () => {
    await append(0, 6);
    const checkpoints = SqliteCheckpointStore.open(join(tmp(), 'checkpoints.sqlite'));
    const seen: RecordedEvent[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered = false;
    const slow = subscription({
      name: 'p',
      store,
      checkpoints,
      batchSize: 3,
      handle: async (events) => {
        entered = true;
        await gate;
        seen.push(...events);
      },
    });
    slow.start();
    await until(() => entered, 'handler entered');
    const stopping = slow.stop();
    release();
    await stopping;
    expect(ids(seen)).toEqual([0, 1, 2]);
    expect(await checkpoints.load('p')).toBe(3n);

    const resumed = subscription({
      name: 'p',
      store,
      checkpoints,
      handle: async (events) => void seen.push(...events),
    });
    resumed.start();
    resumed.start(); // no-op while running
    await until(() => seen.length === 6, 'the rest');
    await resumed.stop();
    expect(ids(seen)).toEqual([0, 1, 2, 3, 4, 5]);
    await checkpoints.close();
  });

  it('reports liveness: lag() is head minus checkpoint, lastProgressAt moves when caught up', async () => {
    const now = new Date('2024-05-01T00:00:00Z');
    const sub = subscription({
      name: 'p',
      store,
      checkpoints: new InMemoryCheckpointStore(),
      idleWaitMs: 20,
      now: () => now,
      handle: async () => {},
    });
    expect(await sub.lag()).toBe(0n);
    await append(0, 5);
    expect(await sub.lag()).toBe(5n);
    expect(sub.lastProgressAt).toBeNull();
    sub.start();
    await until(async () => (await sub.lag()) === 0n, 'caught up');
    expect(sub.position).toBe(5n);
    expect(sub.lastProgressAt).toEqual(now);
    await sub.stop();
    expect(sub.running).toBe(false);
  });

  it('wakes at once on an append in the same process instead of waiting for the idle timeout', async () => {
    const seen: RecordedEvent[] = [];
    const sub = subscription({
      name: 'p',
      store,
      checkpoints: new InMemoryCheckpointStore(),
      idleWaitMs: 60_000,
      handle: async (events) => void seen.push(...events),
    });
    sub.start();
    await new Promise((r) => setTimeout(r, 20)); // let it go idle
    const t = Date.now();
    await append(0, 1);
    await until(() => seen.length === 1, 'delivery', 2000);
    expect(Date.now() - t).toBeLessThan(500);
    await sub.stop();
  });

  it('refuses a non-positive batch size', () => {
    expect(
      () =>
        new CatchUpSubscription({
          name: 'p',
          store,
          checkpoints: new InMemoryCheckpointStore(),
          batchSize: 0,
          handle: async () => {},
        }),
    ).toThrow(/batchSize/);
  });
});
