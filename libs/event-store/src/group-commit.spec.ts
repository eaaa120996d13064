import { AsyncGroupCommitQueue, GroupCommitQueue, Outcome } from './group-commit';

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

describe('GroupCommitQueue waiting for a lock (BusyRetry)', () => {
  const busyError = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
  /** A commit that finds the lock taken while `locked` is true (unless it may wait). */
  function harness(giveUpAfterMs = 5_000) {
    const state = { locked: true, calls: [] as Array<{ batch: number[]; mayWait: boolean }> };
    const queue = new GroupCommitQueue<number, number>(
      (batch, mayWait) => {
        state.calls.push({ batch: [...batch], mayWait });
        if (state.locked && !mayWait) throw busyError;
        return batch.map((n) => ({ ok: true, value: n * 10 }));
      },
      100,
      () => undefined,
      {
        isBusy: (e) => (e as { code?: string }).code === 'SQLITE_BUSY',
        retryDelayMs: 1,
        giveUpAfterMs,
      },
    );
    return { state, queue };
  }

  it('tries again without blocking, and requests queued meanwhile join the batch', async () => {
    const { state, queue } = harness();
    const first = queue.enqueue(1);
    await tick();
    expect(state.calls).toEqual([{ batch: [1], mayWait: false }]);
    // The event loop runs on while the lock is taken: another request joins the waiting batch.
    const second = queue.enqueue(2);
    await new Promise((r) => setTimeout(r, 5));
    state.locked = false;
    await expect(Promise.all([first, second])).resolves.toEqual([10, 20]);
    expect(state.calls.at(-1)).toEqual({ batch: [1, 2], mayWait: false });
  });

  it('fails the batch with the busy error once giveUpAfterMs has passed', async () => {
    const { queue } = harness(20);
    await expect(queue.enqueue(1)).rejects.toBe(busyError);
  });

  it('flush() (closing) commits at once, waiting in the commit', async () => {
    const { state, queue } = harness();
    const pending = queue.enqueue(1);
    await tick();
    queue.flush();
    await expect(pending).resolves.toBe(10);
    expect(state.calls.at(-1)).toEqual({ batch: [1], mayWait: true });
  });
});
