import { join } from 'node:path';
import {
  CatchUpSubscription,
  InMemoryCheckpointStore,
  RecordedEvent,
  SqliteEventStore,
} from '@app/event-store';
import { useTmpDir } from '../../support/tmp-dir';
import { ChildWriter } from './child-writer';

/**
 * Two processes append to the same SQLite file at once (group commit on, 4 concurrent loops
 * each, plus a stream both fight over with expected revisions), while this process follows the
 * log with a catch-up subscription that can only learn of their appends by polling.
 */
describe('SQLite event store: two processes appending to one file', () => {
  const tmp = useTmpDir('es-multi-');

  it('loses and duplicates no position, keeps the contended stream contiguous, and the subscription sees it all', async () => {
    const dbPath = join(tmp(), 'events.sqlite');
    const reader = SqliteEventStore.open(dbPath, { pollIntervalMs: 20 });
    const delivered: RecordedEvent[] = [];
    const sub = new CatchUpSubscription({
      name: 'follower',
      store: reader,
      checkpoints: new InMemoryCheckpointStore(),
      batchSize: 50,
      handle: async (events) => void delivered.push(...events),
    });
    sub.start();
    // 250 appends each: with 80, a clean-clone CI run under load saw one writer finish before the
    // other had begun (one switch of writer), so the run proved nothing about contention.
    const writers = [
      new ChildWriter(dbPath, 'p1', 250, 4, 5),
      new ChildWriter(dbPath, 'p2', 250, 4, 5),
    ];
    try {
      await check(writers);
    } finally {
      // Also on failure: nothing may keep running (or writing into a deleted temp dir).
      writers.forEach((w) => w.kill());
      await sub.stop();
      await reader.close();
    }

    async function check(writers: ChildWriter[]): Promise<void> {
      await Promise.all(writers.map((w) => w.ready));
      writers.forEach((w) => w.go());
      const exits = await Promise.all(writers.map((w) => w.exited));
      expect(writers.map((w) => w.stderr)).toEqual(['', '']);
      expect(exits.map((e) => e.code)).toEqual([0, 0]);

      const acks = writers.flatMap((w) => w.acks);
      const all = await reader.readAll();
      expect(all).toHaveLength(acks.length);

      const positions = all.map((e) => e.position);
      expect(new Set(positions).size).toBe(positions.length);
      // Failed appends roll back inside their savepoint, so they burn no position either.
      expect(positions).toEqual(positions.map((_, i) => BigInt(i + 1)));
      const ackedPositions = new Set(acks.map((a) => a.position));
      expect(positions.every((p) => ackedPositions.has(p))).toBe(true);

      // The writers really overlapped in time (otherwise this test proves little): two switches
      // of writer in log order (A…B…A) mean one wrote both before and after the other. How many
      // more there are is up to SQLite's busy handler: a waiting process sleeps (1, 2, 5 … ms)
      // while the other can take the lock again and again, so a CI run once saw only 3.
      const switches = all.filter(
        (e, i) => i > 0 && e.data['writerId'] !== all[i - 1]!.data['writerId'],
      ).length;
      expect(switches).toBeGreaterThanOrEqual(2);

      const shared = await reader.readStream('shared');
      expect(shared.map((e) => e.revision)).toEqual(shared.map((_, i) => i));
      expect(shared.length).toBe(acks.filter((a) => a.stream === 'shared').length);
      expect(new Set(shared.map((e) => e.data['writerId']))).toEqual(new Set(['p1', 'p2']));

      const deadline = Date.now() + 10_000;
      while (delivered.length < all.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      expect(delivered.map((e) => e.eventId)).toEqual(all.map((e) => e.eventId));
    }
  }, 30_000);
});
