import { EventEmitter } from 'node:events';
import {
  CatchUpSubscription,
  type CheckpointStore,
  type EventStore,
  type SubscriptionErrorContext,
} from '@app/event-store';
import type { ReadDb } from '../database/read-db';
import type { ReceiptSigner } from '../receipts/receipt-signature';
import { READ_MODELS_PROJECTION, type ReadStore } from '../read-store';
import { ReadModelProjection, saveCheckpoint, type Upcast } from './read-model-projection';

/** Checkpoints in the read database itself (saved with the rows, in the projection's transaction). */
export class ReadDbCheckpointStore implements CheckpointStore {
  constructor(
    private readonly readDb: ReadDb,
    private readonly store: ReadStore,
  ) {}

  load(name: string): Promise<bigint | null> {
    return this.store.checkpoint(name);
  }

  async save(name: string, position: bigint): Promise<void> {
    await this.readDb.writeTransaction((trx) => saveCheckpoint(trx, this.readDb, name, position));
  }

  reset(name: string): Promise<void> {
    return this.store.resetCheckpoint(name);
  }

  async close(): Promise<void> {}
}

export interface ReadModelProjectorOptions {
  /** The raw log: audit rows store events as written (personal fields encrypted). */
  log: EventStore;
  readDb: ReadDb;
  readStore: ReadStore;
  upcast?: Upcast;
  batchSize?: number;
  idleWaitMs?: number;
  /**
   * After a small batch, pause this long before reading again, so that under a stream of
   * commands the next batch holds many events instead of one or two (one transaction and a
   * handful of queries per batch, not per event). Readers are released before the pause, so it
   * delays nothing already applied. Default 5 ms; 0 turns it off.
   */
  coalesceMs?: number;
  onError?: (error: unknown, context: SubscriptionErrorContext) => void;
  /** D11: signs the purge receipts' chain (ReadModelProjection). */
  signer?: ReceiptSigner;
}

/**
 * Feeds every read model from a checkpointed catch-up subscription to the whole log, and lets
 * queries wait for a position (read-your-writes, `?minPosition=`).
 */
export class ReadModelProjector {
  private readonly subscription: CatchUpSubscription;
  private readonly progress = new EventEmitter();
  private known: bigint | null = null;
  /** Callers of waitFor waiting now, and whether the checkpoint is being polled for them. */
  private waiters = 0;
  private polling = false;
  private sinceOptimize = 0;

  constructor(private readonly o: ReadModelProjectorOptions) {
    this.progress.setMaxListeners(0);
    const projection = new ReadModelProjection(o.readDb, o.upcast, o.signer ?? null);
    const batchSize = o.batchSize ?? 500;
    const coalesceMs = o.coalesceMs ?? 5;
    this.subscription = new CatchUpSubscription({
      name: READ_MODELS_PROJECTION,
      store: o.log,
      checkpoints: new ReadDbCheckpointStore(o.readDb, o.readStore),
      batchSize,
      idleWaitMs: o.idleWaitMs ?? 1000,
      retry: { initialDelayMs: 50, maxDelayMs: 5000 },
      ...(o.onError ? { onError: o.onError } : {}),
      handle: async (events) => {
        await projection.apply(events, READ_MODELS_PROJECTION);
        this.sinceOptimize += events.length;
        if (this.sinceOptimize >= 50_000) {
          this.sinceOptimize = 0;
          await o.readDb.optimize();
        }
        // The rows and checkpoint are committed: readers waiting for these positions may go.
        this.advance(events[events.length - 1]!.position);
        if (coalesceMs > 0 && events.length < batchSize / 4)
          await new Promise((r) => setTimeout(r, coalesceMs));
      },
    });
  }

  get running(): boolean {
    return this.subscription.running;
  }

  get health() {
    return this.subscription.health;
  }

  get lastProgressAt(): Date | null {
    return this.subscription.lastProgressAt;
  }

  start(): void {
    this.subscription.start();
  }

  stop(): Promise<void> {
    return this.subscription.stop();
  }

  /** The position the read models have reached (committed), from this process or the database. */
  async position(): Promise<bigint | null> {
    const stored = await this.o.readStore.checkpoint();
    if (stored !== null) this.advance(stored);
    return this.known;
  }

  /** Head of the log minus the read models' position (0 when caught up). */
  async lag(): Promise<bigint> {
    const [head, at] = await Promise.all([this.o.log.headPosition(), this.position()]);
    if (head === null) return 0n;
    return head > (at ?? 0n) ? head - (at ?? 0n) : 0n;
  }

  /**
   * Resolves true once the read models include `position`; false after `timeoutMs`, or when
   * `signal` aborts. Woken at once by this process's projector; a projector in another process is
   * seen by reading the checkpoint, one read for every waiter of the process at a time (every
   * 250 ms while this process projects, else every 50 ms), so that many waiters (long-polls of the
   * feed, `?minPosition=` reads) cost the database no more than one.
   */
  async waitFor(position: bigint, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.known !== null && this.known >= position) return true;
    const at = await this.position();
    if (at !== null && at >= position) return true;
    if (timeoutMs <= 0 || signal?.aborted) return false;
    return new Promise<boolean>((resolve) => {
      const done = (reached: boolean): void => {
        clearTimeout(timer);
        this.progress.off('progress', onProgress);
        signal?.removeEventListener('abort', onAbort);
        this.waiters -= 1;
        resolve(reached);
      };
      const onProgress = (p: bigint): void => {
        if (p >= position) done(true);
      };
      const onAbort = (): void => done(false);
      const timer = setTimeout(onAbort, timeoutMs);
      this.progress.on('progress', onProgress);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters += 1;
      this.pollWhileWaited();
    });
  }

  /** Reads the checkpoint (which wakes the waiters it satisfies) while anyone waits. */
  private pollWhileWaited(): void {
    if (this.polling) return;
    this.polling = true;
    const poll = (): void => {
      if (this.waiters === 0) {
        this.polling = false;
        return;
      }
      setTimeout(
        () => {
          this.position()
            .catch(() => null) // the read database is unavailable: the waiters wait for their deadline
            .finally(poll);
        },
        this.running ? 250 : 50,
      );
    };
    poll();
  }

  private advance(position: bigint): void {
    if (this.known === null || position > this.known) {
      this.known = position;
      this.progress.emit('progress', position);
    }
  }
}
