import { EventStore, RecordedEvent } from '../event-store.port';
import { CheckpointStore } from './checkpoint-store.port';

export type SubscriptionStage = 'load-checkpoint' | 'read' | 'handle' | 'save-checkpoint' | 'wait';

export interface SubscriptionErrorContext {
  name: string;
  stage: SubscriptionStage;
  /** 1 for the first failure in a row. */
  attempt: number;
  /** Delay before the next attempt. */
  retryInMs: number;
}

export interface CatchUpSubscriptionOptions {
  /** Identifies the checkpoint; two subscriptions with one name would share (and fight over) it. */
  name: string;
  store: EventStore;
  checkpoints: CheckpointStore;
  /**
   * Handles a batch, in log order. Must be idempotent: after a crash or a failed checkpoint save
   * the same events are delivered again (at-least-once).
   */
  handle: (events: RecordedEvent[]) => Promise<void>;
  batchSize?: number;
  /** Longest wait for new events before reading again anyway (a safety net, not the main path). */
  idleWaitMs?: number;
  /** Backoff after a failure: doubles from initial to max. */
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Every failure is reported here; the subscription then retries, it never skips events. */
  onError?: (error: unknown, context: SubscriptionErrorContext) => void;
  now?: () => Date;
}

/**
 * A checkpointed catch-up subscription to the whole log: reads after the stored checkpoint,
 * hands each batch to `handle`, and only then saves the batch's last position. Events are
 * delivered in log order, at least once, never skipped.
 */
export class CatchUpSubscription {
  private readonly batchSize: number;
  private loop: Promise<void> | null = null;
  private abort: AbortController | null = null;
  private checkpoint: bigint | null = null;
  private _lastProgressAt: Date | null = null;
  private _lastError: unknown = undefined;
  private failures = 0;

  constructor(private readonly o: CatchUpSubscriptionOptions) {
    this.batchSize = o.batchSize ?? 100;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new TypeError(`CatchUpSubscription(${o.name}): batchSize must be a positive integer`);
    }
  }

  get name(): string {
    return this.o.name;
  }

  get running(): boolean {
    return this.loop !== null;
  }

  /** Position of the last event handled and checkpointed by this instance (null before any). */
  get position(): bigint | null {
    return this.checkpoint;
  }

  /**
   * Last time the loop completed a step (a batch handled and checkpointed, or a read that found
   * nothing new). A health check compares it with now: a stuck handler or an unreachable store
   * stops it from moving, an idle log does not.
   */
  get lastProgressAt(): Date | null {
    return this._lastProgressAt;
  }

  /** The last error, until the next successful step; consecutive failures count. */
  get health(): { failing: boolean; consecutiveFailures: number; lastError: unknown } {
    return {
      failing: this.failures > 0,
      consecutiveFailures: this.failures,
      lastError: this._lastError,
    };
  }

  /**
   * Head position minus checkpoint: 0 when caught up. In SQLite it is roughly the number of
   * events behind; in KurrentDB positions are byte offsets, so only compare it with 0 or a trend.
   */
  async lag(): Promise<bigint> {
    const head = await this.o.store.headPosition();
    if (head === null) return 0n;
    const from = this.checkpoint ?? 0n;
    return head > from ? head - from : 0n;
  }

  /** Starts the loop (no-op when running). Resumes from the stored checkpoint. */
  start(): void {
    if (this.loop) return;
    const abort = new AbortController();
    this.abort = abort;
    this.loop = this.run(abort.signal).finally(() => {
      if (this.abort === abort) {
        this.loop = null;
        this.abort = null;
      }
    });
  }

  /**
   * Stops after the batch in hand is handled and checkpointed (a handler is never interrupted
   * half-way), so a later start() continues exactly where this one stopped.
   */
  async stop(): Promise<void> {
    const loop = this.loop;
    this.abort?.abort();
    await loop;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const loaded = await this.step(signal, 'load-checkpoint', () =>
      this.o.checkpoints.load(this.o.name),
    );
    if (loaded.stopped) return;
    this.checkpoint = loaded.value;

    while (!signal.aborted) {
      const read = await this.step(signal, 'read', () =>
        this.o.store.readAll({
          ...(this.checkpoint !== null ? { after: this.checkpoint } : {}),
          maxCount: this.batchSize,
        }),
      );
      // Stopped during the read: nothing handled yet, so nothing to checkpoint.
      if (read.stopped || signal.aborted) return;
      const events = read.value;
      if (events.length === 0) {
        this.progressed();
        const waited = await this.step(signal, 'wait', () =>
          this.o.store.waitForAppend(this.checkpoint, this.o.idleWaitMs ?? 1000, signal),
        );
        if (waited.stopped) return;
        continue;
      }
      // Not retried in place: a failed handle goes back to the read, so the batch is re-read
      // from the checkpoint (the store is the source of truth, not our copy).
      const handled = await this.attempt('handle', () => this.o.handle(events), signal);
      if (!handled) continue;
      const last = events[events.length - 1]!.position;
      // The handler already ran: retry the save in place rather than re-deliver the batch.
      const saved = await this.step(signal, 'save-checkpoint', () =>
        this.o.checkpoints.save(this.o.name, last),
      );
      // Stopped while the save kept failing: the stored checkpoint stays behind, so the next
      // start re-delivers this batch (at-least-once), never skips it.
      if (saved.stopped) return;
      this.checkpoint = last;
      this.progressed();
    }
  }

  /**
   * Runs `fn` until it succeeds or the subscription stops; reports and backs off on failure.
   * The first try happens even after stop() was called, so a handled batch still gets its
   * checkpoint saved and stop/start neither skips nor repeats events.
   */
  private async step<T>(
    signal: AbortSignal,
    stage: SubscriptionStage,
    fn: () => Promise<T>,
  ): Promise<{ stopped: true } | { stopped: false; value: T }> {
    for (;;) {
      try {
        return { stopped: false, value: await fn() };
      } catch (error) {
        if (signal.aborted) return { stopped: true };
        await this.failed(error, stage, signal);
        if (signal.aborted) return { stopped: true };
      }
    }
  }

  /** Runs `fn` once; on failure reports, backs off and returns false. */
  private async attempt(
    stage: SubscriptionStage,
    fn: () => Promise<void>,
    signal: AbortSignal,
  ): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (error) {
      await this.failed(error, stage, signal);
      return false;
    }
  }

  private async failed(
    error: unknown,
    stage: SubscriptionStage,
    signal: AbortSignal,
  ): Promise<void> {
    this.failures++;
    this._lastError = error;
    const initial = this.o.retry?.initialDelayMs ?? 100;
    const max = this.o.retry?.maxDelayMs ?? 30_000;
    const retryInMs = Math.min(max, initial * 2 ** Math.min(this.failures - 1, 30));
    try {
      this.o.onError?.(error, { name: this.o.name, stage, attempt: this.failures, retryInMs });
    } catch {
      // A throwing reporter must not kill the loop.
    }
    await sleep(retryInMs, signal);
  }

  private progressed(): void {
    this.failures = 0;
    this._lastError = undefined;
    this._lastProgressAt = this.o.now?.() ?? new Date();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
