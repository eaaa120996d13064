import type { CheckpointStore, EventStore } from '@app/event-store';
import { sleep } from './async-utils';

/** How far the scheduler has got, as the controlled-clock driver needs to know it. */
export interface SchedulerProgress {
  /**
   * Resolves true once every event in the log when called has its jobs in Redis; false after
   * `timeoutMs`, or as soon as `signal` is aborted.
   */
  waitCaughtUp(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}

/**
 * The scheduler's progress read from its stored checkpoint, so that any process (an api moving
 * the controlled clock) can wait for the scheduler wherever it runs: the checkpoint never passes
 * an event whose jobs are not in Redis (LifecycleScheduler).
 */
export class StoredSchedulerProgress implements SchedulerProgress {
  constructor(
    private readonly o: {
      feed: EventStore;
      checkpoints: CheckpointStore;
      name: string;
      pollMs?: number;
    },
  ) {}

  async waitCaughtUp(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const head = await this.o.feed.headPosition();
    if (head === null) return true;
    for (;;) {
      const at = await this.o.checkpoints.load(this.o.name);
      if (at !== null && at >= head) return true;
      if (Date.now() > deadline || signal?.aborted) return false;
      await sleep(this.o.pollMs ?? 10);
    }
  }
}
