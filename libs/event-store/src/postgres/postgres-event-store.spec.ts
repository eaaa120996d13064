import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Client } from 'pg';
import {
  dropSchemas,
  eventLogUrl,
  freshSchema,
  PG_URL,
} from '../../../../test/support/postgres-event-log';
import {
  ExpectedRevision,
  NewEvent,
  RecordedEvent,
  WrongExpectedRevisionError,
} from '../event-store.port';
import { PostgresEventStore } from './postgres-event-store';

const ev = (type: string, data: Record<string, unknown> = {}): NewEvent => ({
  type,
  data,
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

/** Against the PostgreSQL of the run (TEST_PG_URL), one fresh schema per test. */
describe('PostgresEventStore', () => {
  let schema: string;
  let url: string;
  const opened: PostgresEventStore[] = [];
  const open = (options: Parameters<typeof PostgresEventStore.connect>[1] = {}) => {
    const store = PostgresEventStore.connect(url, { poolSize: 3, ...options });
    opened.push(store);
    return store;
  };
  const sql = async (text: string): Promise<unknown[]> => {
    const c = new Client({ connectionString: PG_URL });
    await c.connect();
    try {
      return (await c.query(text)).rows as unknown[];
    } finally {
      await c.end();
    }
  };

  beforeEach(() => {
    schema = freshSchema('es_spec');
    url = eventLogUrl(schema);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await dropSchemas(schema);
  });

  it('creates its schema and table on first use, with the columns and keys the port needs', async () => {
    const store = open();
    expect(await store.headPosition()).toBeNull();
    const columns = await sql(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = '${schema}' AND table_name = 'events' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { column_name: 'position', data_type: 'bigint' },
      { column_name: 'event_id', data_type: 'text' },
      { column_name: 'stream_id', data_type: 'text' },
      { column_name: 'revision', data_type: 'integer' },
      { column_name: 'type', data_type: 'text' },
      { column_name: 'data', data_type: 'json' },
      { column_name: 'metadata', data_type: 'json' },
    ]);
    const keys = await sql(
      `SELECT conname, contype FROM pg_constraint
       WHERE conrelid = '"${schema}".events'::regclass ORDER BY conname`,
    );
    expect(keys).toEqual([
      { conname: 'events_event_id_key', contype: 'u' },
      { conname: 'events_pkey', contype: 'p' },
      { conname: 'events_stream_revision_key', contype: 'u' },
    ]);
  });

  it('keeps the JSON text exactly as written (json, not jsonb)', async () => {
    const store = open();
    await store.appendToStream('s', [ev('A', { b: 1, a: [1.0, 'x'], dup: 1 })], {
      expectedRevision: 'no_stream',
    });
    expect(await sql(`SELECT data::text AS data FROM "${schema}".events`)).toEqual([
      { data: '{"b":1,"a":[1,"x"],"dup":1}' },
    ]);
  });

  describe('group commit', () => {
    /** What an append came to: its next revision, or the actual revision it was refused at. */
    const appendOutcome = (r: PromiseSettledResult<unknown>) =>
      r.status === 'fulfilled'
        ? { ok: (r.value as { nextRevision: number }).nextRevision }
        : { err: (r.reason as WrongExpectedRevisionError).actual };
    /** The two streams hold the same events (revision, op, j). */
    const sameStreams = async (
      a: PostgresEventStore,
      aStream: string,
      b: PostgresEventStore,
      bStream: string,
    ) => {
      const shape = (es: RecordedEvent[]) => es.map((e) => [e.revision, e.data['op'], e.data['j']]);
      expect(shape(await a.readStream(aStream))).toEqual(shape(await b.readStream(bStream)));
    };
    it('writes appends issued in the same tick in one transaction', async () => {
      const store = open();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.appendToStream(`s-${i}`, [ev('A'), ev('B')], { expectedRevision: 'no_stream' }),
        ),
      );
      expect(store.stats).toEqual({ transactions: 1, appends: 50 });
      expect(new Set(results.map((r) => r.position)).size).toBe(50);
      const all = await store.readAll();
      expect(all.length).toBe(100);
      // Positions follow call order, and revisions within each append.
      expect(all.map((e) => e.streamId)).toEqual(results.flatMap((_, i) => [`s-${i}`, `s-${i}`]));
      expect(all.map((e) => e.type)).toEqual(results.flatMap(() => ['A', 'B']));
    });

    it('splits a larger burst into transactions of at most maxAppendsPerCommit', async () => {
      const store = open({ maxAppendsPerCommit: 8 });
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.appendToStream(`s-${i}`, [ev('A')], { expectedRevision: 'any' }),
        ),
      );
      expect(store.stats).toEqual({ transactions: 3, appends: 20 });
    });

    it('fails only the append that fails; the rest of the batch commits', async () => {
      const store = open();
      await store.appendToStream('taken', [ev('A')], { expectedRevision: 'no_stream' });
      const dupId = randomUUID();
      const settled = await Promise.allSettled([
        store.appendToStream('x', [ev('X1')], { expectedRevision: 'no_stream' }),
        store.appendToStream('taken', [ev('Bad')], { expectedRevision: 'no_stream' }),
        // Same stream twice in one batch: the second sees the first (sequential semantics).
        store.appendToStream('x', [ev('X2')], { expectedRevision: 0 }),
        store.appendToStream('x', [ev('X3')], { expectedRevision: 0 }),
        store.appendToStream('d1', [{ ...ev('D1'), eventId: dupId }], { expectedRevision: 'any' }),
        // A database error (duplicate event id) in the middle of the batch fails alone, rolled
        // back to its savepoint with nothing half-written; the appends after it still commit.
        store.appendToStream('d2', [ev('ok'), { ...ev('D2'), eventId: dupId }], {
          expectedRevision: 'any',
        }),
        store.appendToStream('after', [ev('Y')], { expectedRevision: 'no_stream' }),
        // PostgreSQL text cannot hold NUL: also a database error, also alone.
        store.appendToStream('nul', [ev('bad\u0000type')], { expectedRevision: 'any' }),
        store.appendToStream('x', [ev('X4')], { expectedRevision: 1 }),
      ]);
      expect(settled.map((s) => s.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      const reason = (i: number) => (settled[i] as PromiseRejectedResult).reason as unknown;
      expect(reason(1)).toBeInstanceOf(WrongExpectedRevisionError);
      expect(reason(3)).toMatchObject({ actual: 1, expected: 0 });
      expect(reason(5)).toMatchObject({ code: '23505', constraint: 'events_event_id_key' });
      expect(reason(7)).toMatchObject({ code: '22021' });
      expect(store.stats.transactions).toBe(2);
      expect((await store.readStream('x')).map((e) => e.type)).toEqual(['X1', 'X2', 'X4']);
      expect(await store.readStream('d2')).toEqual([]);
      expect((await store.readStream('after')).map((e) => e.type)).toEqual(['Y']);
      expect((await store.readStream('taken')).map((e) => e.type)).toEqual(['A']);
    });

    it('a batch where every append fails writes nothing and burns no position', async () => {
      const store = open();
      const first = await store.appendToStream('s', [ev('A')], { expectedRevision: 'no_stream' });
      const settled = await Promise.allSettled([
        store.appendToStream('s', [ev('B')], { expectedRevision: 'no_stream' }),
        store.appendToStream('t', [ev('C')], { expectedRevision: 3 }),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
      const next = await store.appendToStream('s', [ev('D')], { expectedRevision: 0 });
      expect(next.position).toBe(first.position + 1n);
    });

    it('writes what was passed at call time, even if the caller mutates it before the flush', async () => {
      const store = open();
      const e = ev('A', { n: 1 });
      const pending = store.appendToStream('s', [e], { expectedRevision: 'no_stream' });
      e.data['n'] = 2;
      // BigInt is not JSON: that caller alone fails.
      await expect(
        store.appendToStream('t', [ev('B', { big: 1n })], { expectedRevision: 'any' }),
      ).rejects.toThrow(TypeError);
      await pending;
      expect((await store.readStream('s'))[0]!.data).toEqual({ n: 1 });
    });

    it('close() commits appends still queued', async () => {
      const store = open();
      const pending = store.appendToStream('s', [ev('A')], { expectedRevision: 'no_stream' });
      await store.close();
      await expect(pending).resolves.toMatchObject({ nextRevision: 0 });
      expect(await open().readStream('s')).toHaveLength(1);
    });

    // Group commit must be indistinguishable from appending one at a time, in call order.
    it('gives the same outcomes as sequential appends (property)', async () => {
      const grouped = open();
      const sequential = open({ groupCommit: false });
      const expected = fc.oneof(
        fc.constantFrom<ExpectedRevision>('any', 'no_stream', 'stream_exists'),
        fc.integer({ min: 0, max: 4 }),
      );
      const op = fc.record({
        stream: fc.integer({ min: 0, max: 2 }),
        expected,
        n: fc.integer({ min: 1, max: 3 }),
      });
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
          const g = `g${run}`;
          const s = `s${run++}`;
          const a = await Promise.allSettled(
            ops.map((o, i) =>
              grouped.appendToStream(
                `${g}-${o.stream}`,
                Array.from({ length: o.n }, (_, j) => ev('E', { op: i, j })),
                { expectedRevision: o.expected },
              ),
            ),
          );
          const b: PromiseSettledResult<unknown>[] = [];
          for (const [i, o] of ops.entries()) {
            const [r] = await Promise.allSettled([
              sequential.appendToStream(
                `${s}-${o.stream}`,
                Array.from({ length: o.n }, (_, j) => ev('E', { op: i, j })),
                { expectedRevision: o.expected },
              ),
            ]);
            b.push(r);
          }
          expect(a.map(appendOutcome)).toEqual(b.map(appendOutcome));
          for (let k = 0; k < 3; k++)
            await sameStreams(grouped, `${g}-${k}`, sequential, `${s}-${k}`);
        }),
        { numRuns: 30 },
      );
    }, 60_000);

    it('two ids PostgreSQL stores as one stream (lone surrogates) are not written as distinct streams', async () => {
      const store = open();
      const settled = await Promise.allSettled([
        store.appendToStream('x\uD800', [ev('A')], { expectedRevision: 'no_stream' }),
        store.appendToStream('x\uDC00', [ev('B')], { expectedRevision: 5 }),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected']);
      expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ actual: 0 });
    });

    it('a read the batch statement cannot run fails alone; the reads issued with it answer', async () => {
      const store = open();
      await store.appendToStream('r', [ev('A')], { expectedRevision: 'no_stream' });
      const settled = await Promise.allSettled([
        store.readStream('r'),
        store.readStream('bad\u0000id'),
        store.readStream('r', { fromRevision: 1 }),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((settled[0] as PromiseFulfilledResult<RecordedEvent[]>).value).toHaveLength(1);
    });

    // A batch of distinct streams is written by one statement: still as if one at a time.
    it('gives the same outcomes as sequential appends when every stream of the batch is distinct (property)', async () => {
      const grouped = open();
      const sequential = open({ groupCommit: false });
      const op = fc.record({
        existing: fc.integer({ min: 0, max: 3 }),
        expected: fc.oneof(
          fc.constantFrom<ExpectedRevision>('any', 'no_stream', 'stream_exists'),
          fc.integer({ min: 0, max: 3 }),
        ),
        n: fc.integer({ min: 1, max: 3 }),
      });
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 2, maxLength: 25 }), async (ops) => {
          const [g, s] = [`dg${run}`, `ds${run++}`];
          const events = (i: number, n: number) =>
            Array.from({ length: n }, (_, j) => ev('E', { op: i, j }));
          for (const [i, o] of ops.entries())
            if (o.existing > 0)
              for (const prefix of [g, s])
                await sequential.appendToStream(`${prefix}-${i}`, events(-1, o.existing), {
                  expectedRevision: 'no_stream',
                });
          const before = grouped.stats.transactions;
          const a = await Promise.allSettled(
            ops.map((o, i) =>
              grouped.appendToStream(`${g}-${i}`, events(i, o.n), { expectedRevision: o.expected }),
            ),
          );
          expect(grouped.stats.transactions - before).toBeLessThanOrEqual(1);
          const b: PromiseSettledResult<unknown>[] = [];
          for (const [i, o] of ops.entries())
            b.push(
              ...(await Promise.allSettled([
                sequential.appendToStream(`${s}-${i}`, events(i, o.n), {
                  expectedRevision: o.expected,
                }),
              ])),
            );
          expect(a.map(appendOutcome)).toEqual(b.map(appendOutcome));
          // Positions in call order, then revision order.
          const written = a.flatMap((r) =>
            r.status === 'fulfilled' ? [(r.value as { position: bigint }).position] : [],
          );
          expect([...written].sort((x, y) => (x < y ? -1 : 1))).toEqual(written);
          for (const [i] of ops.entries())
            await sameStreams(grouped, `${g}-${i}`, sequential, `${s}-${i}`);
        }),
        { numRuns: 30 },
      );
    }, 60_000);
  });

  it('readStream and readAll honour maxCount 0 and an `after` past the head', async () => {
    const store = open();
    const r = await store.appendToStream('s', [ev('A'), ev('B')], { expectedRevision: 'any' });
    expect(await store.readStream('s', { maxCount: 0 })).toEqual([]);
    expect(await store.readAll({ maxCount: 0 })).toEqual([]);
    expect(await store.readAll({ after: r.position })).toEqual([]);
    expect((await store.readAll({ after: r.position - 1n })).map((e) => e.type)).toEqual(['B']);
    expect(await store.headPosition()).toBe(r.position);
  });

  it('refuses a schema whose event log is newer than the code, and a foreign "events" table', async () => {
    await open().headPosition();
    await sql(`COMMENT ON TABLE "${schema}".events IS 'event-store schema v99'`);
    await expect(open().headPosition()).rejects.toThrow(/newer/);
    await expect(PostgresEventStore.open(url)).rejects.toThrow(/newer/);
    await sql(`COMMENT ON TABLE "${schema}".events IS NULL`);
    await expect(open().readAll()).rejects.toThrow(/not an event log/);
  });

  it('a failed first use (server unreachable) is retried by the next call', async () => {
    const bad = PostgresEventStore.connect('postgres://postgres@127.0.0.1:1/test?schema=x');
    opened.push(bad);
    await expect(bad.headPosition()).rejects.toThrow();
    await expect(bad.appendToStream('s', [ev('A')], { expectedRevision: 'any' })).rejects.toThrow();
  });

  it('rejects calls after close', async () => {
    const store = open();
    await store.close();
    await expect(store.appendToStream('s', [ev('A')], { expectedRevision: 'any' })).rejects.toThrow(
      /closed/,
    );
    await expect(store.readAll()).rejects.toThrow(/closed/);
    await expect(store.waitForAppend(null, 10)).rejects.toThrow(/closed/);
  });

  it('rejects invalid arguments without writing', async () => {
    const store = open();
    await expect(store.appendToStream('', [ev('A')], { expectedRevision: 'any' })).rejects.toThrow(
      TypeError,
    );
    await expect(store.appendToStream('s', [ev('A')], { expectedRevision: -1 })).rejects.toThrow(
      TypeError,
    );
    await expect(store.appendToStream('s', [], { expectedRevision: 'any' })).rejects.toThrow(
      TypeError,
    );
    expect(await store.headPosition()).toBeNull();
  });

  it('refuses an invalid schema name, and defaults to public', () => {
    expect(() => PostgresEventStore.connect(eventLogUrl('Nope'))).toThrow(/schema/);
    expect(() => PostgresEventStore.connect(eventLogUrl('a-b'))).toThrow(/schema/);
    const store = PostgresEventStore.connect(PG_URL);
    opened.push(store);
    expect(store.schema).toBe('public');
  });
});
