import { AsyncGroupCommitQueue, Outcome } from './group-commit';

const tick = () => new Promise((r) => setImmediate(r));

describe('AsyncGroupCommitQueue', () => {
  /** A commit that records its batches and resolves when `release` is called. */
  function harness(maxBatch = 100) {
    const batches: number[][] = [];
    const gates: Array<() => void> = [];
    const committed: number[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const queue = new AsyncGroupCommitQueue<number, number>(
      async (batch) => {
        batches.push([...batch]);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((r) => gates.push(r));
        inFlight--;
        if (batch.includes(-1)) throw new Error('commit failed');
        return batch.map((n): Outcome<number> =>
          n % 7 === 0 ? { ok: false, error: new Error(`bad ${n}`) } : { ok: true, value: n * 10 },
        );
      },
      maxBatch,
      (results) => committed.push([...results]),
    );
    const releaseAll = async () => {
      while (gates.length > 0 || queue.size > 0) {
        gates.splice(0).forEach((g) => g());
        await tick();
      }
    };
    return {
      queue,
      batches,
      committed,
      releaseAll,
      get maxInFlight() {
        return maxInFlight;
      },
    };
  }

  it('commits what one turn queued in one call, one call at a time; later requests form the next batch', async () => {
    const h = harness();
    const first = [1, 2, 3].map((n) => h.queue.enqueue(n));
    await tick();
    expect(h.batches).toEqual([[1, 2, 3]]);
    // Queued while the first commit runs: they wait for it, then go together.
    const second = [4, 5].map((n) => h.queue.enqueue(n));
    await tick();
    expect(h.batches).toHaveLength(1);
    await h.releaseAll();
    expect(await Promise.all([...first, ...second])).toEqual([10, 20, 30, 40, 50]);
    expect(h.batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    expect(h.maxInFlight).toBe(1);
    expect(h.committed).toEqual([
      [10, 20, 30],
      [40, 50],
    ]);
  });

  it('fails a request alone on its outcome, the whole batch when the commit throws', async () => {
    const h = harness();
    const a = Promise.allSettled([8, 14, 9].map((n) => h.queue.enqueue(n)));
    await tick();
    await h.releaseAll();
    expect((await a).map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const b = Promise.allSettled([1, -1].map((n) => h.queue.enqueue(n)));
    await tick();
    await h.releaseAll();
    expect((await b).map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(h.committed).toEqual([[80, 90]]);
  });

  it('caps batches at maxBatch, and drain() settles everything queued', async () => {
    const h = harness(2);
    const all = Promise.all([1, 2, 3, 4, 5].map((n) => h.queue.enqueue(n)));
    const drained = h.queue.drain();
    await h.releaseAll();
    await drained;
    expect(await all).toEqual([10, 20, 30, 40, 50]);
    expect(h.batches).toEqual([[1, 2], [3, 4], [5]]);
    expect(h.queue.size).toBe(0);
  });
});
