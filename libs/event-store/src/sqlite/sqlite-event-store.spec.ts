import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { useTmpDir } from '../../../../test/support/tmp-dir';
import { ExpectedRevision, NewEvent, WrongExpectedRevisionError } from '../event-store.port';
import { openSqliteDatabase } from './sqlite-connection';
import { SqliteEventStore } from './sqlite-event-store';

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

describe('SqliteEventStore', () => {
  const tmp = useTmpDir('es-sqlite-');
  const file = (): string => join(tmp(), 'nested', 'dir', 'events.sqlite');

  it('creates the parent directory and sets WAL, synchronous=FULL, secure_delete, busy_timeout', async () => {
    const store = SqliteEventStore.open(file(), { busyTimeoutMs: 1234 });
    await store.close();
    const db = openSqliteDatabase(file(), { busyTimeoutMs: 1234 });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(db.pragma('secure_delete', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    db.close();
  });

  describe('group commit', () => {
    it('writes appends issued in the same tick in one transaction', async () => {
      const store = SqliteEventStore.open(file());
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.appendToStream(`s-${i}`, [ev('A'), ev('B')], { expectedRevision: 'no_stream' }),
        ),
      );
      expect(store.stats).toEqual({ transactions: 1, appends: 50 });
      expect(new Set(results.map((r) => r.position)).size).toBe(50);
      expect((await store.readAll()).length).toBe(100);
      await store.close();
    });

    it('fails only the append whose expectation does not hold; the rest of the batch commits', async () => {
      const store = SqliteEventStore.open(file());
      await store.appendToStream('taken', [ev('A')], { expectedRevision: 'no_stream' });
      const dupId = randomUUID();
      const settled = await Promise.allSettled([
        store.appendToStream('x', [ev('X1')], { expectedRevision: 'no_stream' }),
        store.appendToStream('taken', [ev('Bad')], { expectedRevision: 'no_stream' }),
        // Same stream twice in one batch: the second sees the first (sequential semantics).
        store.appendToStream('x', [ev('X2')], { expectedRevision: 0 }),
        store.appendToStream('x', [ev('X3')], { expectedRevision: 0 }),
        store.appendToStream('d1', [{ ...ev('D1'), eventId: dupId }], { expectedRevision: 'any' }),
        // A non-revision failure (duplicate event id) inside the batch also fails alone, and
        // its savepoint rollback leaves no half-written events behind.
        store.appendToStream('d2', [ev('ok'), { ...ev('D2'), eventId: dupId }], {
          expectedRevision: 'any',
        }),
      ]);
      expect(settled.map((s) => s.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
      ]);
      expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      expect((settled[3] as PromiseRejectedResult).reason).toMatchObject({
        actual: 1,
        expected: 0,
      });
      expect(store.stats.transactions).toBe(2);
      expect((await store.readStream('x')).map((e) => e.type)).toEqual(['X1', 'X2']);
      expect(await store.readStream('d2')).toEqual([]);
      expect((await store.readStream('taken')).map((e) => e.type)).toEqual(['A']);
      await store.close();
    });

    it('writes what was passed at call time, even if the caller mutates it before the flush', async () => {
      const store = SqliteEventStore.open(file());
      const e = ev('A', { n: 1 });
      const pending = store.appendToStream('s', [e], { expectedRevision: 'no_stream' });
      e.data['n'] = 2;
      // BigInt is not JSON: that caller alone fails.
      await expect(
        store.appendToStream('t', [ev('B', { big: 1n })], { expectedRevision: 'any' }),
      ).rejects.toThrow(TypeError);
      await pending;
      expect((await store.readStream('s'))[0]!.data).toEqual({ n: 1 });
      await store.close();
    });

    it('close() commits appends still queued', async () => {
      const store = SqliteEventStore.open(file());
      const pending = store.appendToStream('s', [ev('A')], { expectedRevision: 'no_stream' });
      await store.close();
      await expect(pending).resolves.toMatchObject({ nextRevision: 0 });
      const again = SqliteEventStore.open(file());
      expect(await again.readStream('s')).toHaveLength(1);
      await again.close();
    });

    // Group commit must be indistinguishable from appending one at a time, in call order.
    it('gives the same outcomes as sequential appends (property)', async () => {
      const grouped = SqliteEventStore.open(join(tmp(), 'g.sqlite'));
      const sequential = SqliteEventStore.open(join(tmp(), 's.sqlite'), { groupCommit: false });
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
          const prefix = `run${run++}`;
          const issue = (store: SqliteEventStore) =>
            Promise.allSettled(
              ops.map((o, i) =>
                store.appendToStream(
                  `${prefix}-${o.stream}`,
                  Array.from({ length: o.n }, (_, j) => ev('E', { op: i, j })),
                  { expectedRevision: o.expected },
                ),
              ),
            );
          const a = await issue(grouped);
          const b: PromiseSettledResult<unknown>[] = [];
          for (const o of ops.map((_, i) => i)) {
            // Truly one at a time: await each before issuing the next.
            const [r] = await Promise.allSettled([
              sequential.appendToStream(
                `${prefix}-${ops[o]!.stream}`,
                Array.from({ length: ops[o]!.n }, (_, j) => ev('E', { op: o, j })),
                { expectedRevision: ops[o]!.expected },
              ),
            ]);
            b.push(r);
          }
          const outcome = (r: PromiseSettledResult<unknown>) =>
            r.status === 'fulfilled'
              ? { ok: (r.value as { nextRevision: number }).nextRevision }
              : { err: (r.reason as WrongExpectedRevisionError).actual };
          expect(a.map(outcome)).toEqual(b.map(outcome));
          for (let s = 0; s < 3; s++) {
            const shape = (es: Awaited<ReturnType<SqliteEventStore['readStream']>>) =>
              es.map((e) => [e.revision, e.data['op'], e.data['j']]);
            expect(shape(await grouped.readStream(`${prefix}-${s}`))).toEqual(
              shape(await sequential.readStream(`${prefix}-${s}`)),
            );
          }
        }),
        { numRuns: 60 },
      );
      await grouped.close();
      await sequential.close();
    });
  });

  it('truncateWal empties the -wal file', async () => {
    const store = SqliteEventStore.open(file());
    await store.appendToStream('s', [ev('A', { pad: 'x'.repeat(10_000) })], {
      expectedRevision: 'any',
    });
    expect(statSync(`${file()}-wal`).size).toBeGreaterThan(0);
    const r = await store.truncateWal();
    expect(r.busy).toBe(0);
    expect(statSync(`${file()}-wal`).size).toBe(0);
    await store.close();
  });

  it('refuses a file whose schema is newer than the code', async () => {
    const store = SqliteEventStore.open(file());
    await store.close();
    const db = new Database(file());
    db.pragma('user_version = 99');
    db.close();
    expect(() => SqliteEventStore.open(file())).toThrow(/newer/);
  });

  it('rejects calls after close', async () => {
    const store = SqliteEventStore.open(file());
    await store.close();
    await expect(store.appendToStream('s', [ev('A')], { expectedRevision: 'any' })).rejects.toThrow(
      /closed/,
    );
    await expect(store.readAll()).rejects.toThrow(/closed/);
  });

  it('rejects invalid arguments without writing', async () => {
    const store = SqliteEventStore.open(file());
    await expect(store.appendToStream('', [ev('A')], { expectedRevision: 'any' })).rejects.toThrow(
      TypeError,
    );
    await expect(store.appendToStream('s', [ev('A')], { expectedRevision: -1 })).rejects.toThrow(
      TypeError,
    );
    await expect(store.appendToStream('s', [ev('A')], { expectedRevision: 1.5 })).rejects.toThrow(
      TypeError,
    );
    await expect(
      store.appendToStream('s', [{ ...ev('A'), data: [] as unknown as Record<string, unknown> }], {
        expectedRevision: 'any',
      }),
    ).rejects.toThrow(TypeError);
    expect(await store.headPosition()).toBeNull();
    await store.close();
  });
});
