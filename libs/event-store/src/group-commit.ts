export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

interface Waiting<Req, Res> {
  req: Req;
  resolve: (v: Res) => void;
  reject: (e: unknown) => void;
}

/** Answers each waiting request with its outcome; returns the values of those that committed. */
function settle<Req, Res>(batch: readonly Waiting<Req, Res>[], outcomes: Outcome<Res>[]): Res[] {
  const committed: Res[] = [];
  batch.forEach((p, i) => {
    const o = outcomes[i];
    if (!o) p.reject(new Error('group commit: no outcome for request'));
    else if (o.ok) {
      committed.push(o.value);
      p.resolve(o.value);
    } else p.reject(o.error);
  });
  return committed;
}

/**
 * Group commit: requests that arrive before the event loop's next check phase are written by one
 * `commit` call (one transaction, one fsync) instead of one each. `commit` reports an outcome per
 * request, so one request failing (say, a wrong expected revision) does not fail the others; if
 * `commit` itself throws (the transaction could not commit), every request in the batch fails.
 */
export class GroupCommitQueue<Req, Res> {
  private pending: Array<{ req: Req; resolve: (v: Res) => void; reject: (e: unknown) => void }> =
    [];
  private scheduled: NodeJS.Immediate | null = null;

  constructor(
    private readonly commit: (batch: readonly Req[]) => Outcome<Res>[],
    private readonly maxBatch: number,
    /** Called after each committed batch (not on failure), e.g. to wake readers. */
    private readonly afterCommit: (results: readonly Res[]) => void = () => {},
  ) {}

  enqueue(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.pending.push({ req, resolve, reject });
      // setImmediate rather than a microtask: it also gathers requests issued by other async
      // flows that resume in this same turn of the event loop.
      this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  get size(): number {
    return this.pending.length;
  }

  /** Writes everything queued now, synchronously (close() uses it so nothing is dropped). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      let outcomes: Outcome<Res>[];
      try {
        outcomes = this.commit(batch.map((p) => p.req));
      } catch (error) {
        for (const p of batch) p.reject(error);
        continue;
      }
      const committed = settle(batch, outcomes);
      if (committed.length > 0) this.afterCommit(committed);
    }
  }
}

/**
 * The asynchronous counterpart of GroupCommitQueue, for drivers whose commit is a round trip
 * (PostgreSQL): requests gathered in one turn of the event loop go to one `commit` call, and at
 * most one call runs at a time, so requests arriving while a transaction commits form the next
 * batch (the longer a commit takes, the larger the next batch). Same outcome rules as above.
 */
export class AsyncGroupCommitQueue<Req, Res> {
  private pending: Array<{ req: Req; resolve: (v: Res) => void; reject: (e: unknown) => void }> =
    [];
  private scheduled: NodeJS.Immediate | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly commit: (batch: readonly Req[]) => Promise<Outcome<Res>[]>,
    private readonly maxBatch: number,
    /** Called after each committed batch (not on failure), e.g. to wake readers. */
    private readonly afterCommit: (results: readonly Res[]) => void = () => {},
  ) {}

  enqueue(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.pending.push({ req, resolve, reject });
      this.schedule();
    });
  }

  get size(): number {
    return this.pending.length;
  }

  /** Resolves once everything queued so far (and anything queued meanwhile) is settled. */
  async drain(): Promise<void> {
    while (this.running || this.scheduled || this.pending.length > 0) {
      if (!this.running) {
        if (this.scheduled) clearImmediate(this.scheduled);
        this.scheduled = null;
        this.start();
      }
      await this.running;
    }
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    // setImmediate rather than a microtask: it also gathers requests issued by other async flows
    // that resume in this same turn of the event loop.
    this.scheduled = setImmediate(() => {
      this.scheduled = null;
      this.start();
    });
  }

  private start(): void {
    const running: Promise<void> = this.run().finally(() => {
      if (this.running === running) this.running = null;
      if (this.pending.length > 0) this.schedule();
    });
    this.running = running;
  }

  /** Never rejects: commitOne turns every failure into rejected requests. */
  private async run(): Promise<void> {
    while (this.pending.length > 0) {
      await this.commitOne(this.pending.splice(0, this.maxBatch));
      // Let the callers just acknowledged (and anything else resuming in this turn) queue their
      // next request before the next batch is cut.
      if (this.pending.length > 0) await new Promise((r) => setImmediate(r));
    }
  }

  private async commitOne(batch: typeof this.pending): Promise<void> {
    let outcomes: Outcome<Res>[];
    try {
      outcomes = await this.commit(batch.map((p) => p.req));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    const committed = settle(batch, outcomes);
    if (committed.length > 0) {
      try {
        this.afterCommit(committed);
      } catch {
        // A failing wake-up must not leave the queue stuck; the appends are committed.
      }
    }
  }
}
