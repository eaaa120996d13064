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
 * Waiting for a lock another process holds without blocking the event loop: `commit` is first
 * called with `mayWait: false` and throws an error `isBusy` recognises when the lock is taken;
 * the batch is then tried again after `retryDelayMs` (requests arriving meanwhile join it) until
 * `giveUpAfterMs` have passed, when it fails with that error.
 */
export interface BusyRetry {
  isBusy(error: unknown): boolean;
  retryDelayMs: number;
  giveUpAfterMs: number;
}

/**
 * Group commit: requests that arrive before the event loop's next check phase are written by one
 * `commit` call (one transaction, one fsync) instead of one each. `commit` reports an outcome per
 * request, so one request failing (say, a wrong expected revision) does not fail the others; if
 * `commit` itself throws (the transaction could not commit), every request in the batch fails.
 * Also used to run the reads of a turn in one read transaction.
 */
export class GroupCommitQueue<Req, Res> {
  private pending: Array<{ req: Req; resolve: (v: Res) => void; reject: (e: unknown) => void }> =
    [];
  /** The next run, an immediate or (waiting for a lock) a timer, and how to cancel it. */
  private scheduled: { cancel(): void } | null = null;
  /** When the batch at the head of the queue first found the lock taken (BusyRetry). */
  private busySince: number | null = null;

  constructor(
    /** Writes a batch; `mayWait` false asks it to fail at once when the lock is taken (BusyRetry). */
    private readonly commit: (batch: readonly Req[], mayWait: boolean) => Outcome<Res>[],
    private readonly maxBatch: number,
    /** Called after each committed batch (not on failure), e.g. to wake readers. */
    private readonly afterCommit: (results: readonly Res[]) => void = () => {},
    private readonly busy: BusyRetry | null = null,
  ) {}

  enqueue(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.pending.push({ req, resolve, reject });
      // setImmediate rather than a microtask: it also gathers requests issued by other async
      // flows that resume in this same turn of the event loop.
      if (!this.scheduled) {
        const next = setImmediate(() => this.run(false));
        this.scheduled = { cancel: () => clearImmediate(next) };
      }
    });
  }

  get size(): number {
    return this.pending.length;
  }

  /** Writes everything queued now, synchronously (close() uses it so nothing is dropped). */
  flush(): void {
    this.run(true);
  }

  private run(mayWait: boolean): void {
    this.scheduled?.cancel();
    this.scheduled = null;
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, this.maxBatch);
      let outcomes: Outcome<Res>[];
      try {
        outcomes = this.commit(
          batch.map((p) => p.req),
          mayWait || this.busy === null,
        );
      } catch (error) {
        if (!mayWait && this.busy?.isBusy(error)) {
          const now = Date.now();
          this.busySince ??= now;
          if (now - this.busySince < this.busy.giveUpAfterMs) {
            const retry = setTimeout(() => this.run(false), this.busy.retryDelayMs);
            this.scheduled = { cancel: () => clearTimeout(retry) };
            return;
          }
        }
        this.busySince = null;
        this.pending.splice(0, batch.length);
        for (const p of batch) p.reject(error);
        continue;
      }
      this.busySince = null;
      this.pending.splice(0, batch.length);
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
