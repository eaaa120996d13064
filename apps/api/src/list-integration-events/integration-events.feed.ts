import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EventStore } from '@app/event-store';
import { LOGGER, RAW_EVENT_STORE } from '@app/infrastructure';
import {
  IntegrationEventReader,
  type IntegrationEventPage,
  type IntegrationEventType,
  ReadModelProjector,
  ReadStore,
} from '@app/read-models';
import { ApiError } from '../http/api-error';

/** Long-polls one process lets wait at once; more are 503 with Retry-After (docs/integration-events.md). */
export const MAX_LONG_POLLS = 200;
/**
 * How often the checkpoint is read while long-polls wait: one query per process for all of them,
 * which is how a projector in another process (READ_MODEL_PROJECTOR=off here) is seen.
 */
export const CHECKPOINT_POLL_MS = 200;
/**
 * Page queries of woken long-polls at once (of the read database's pool of 8 connections), so
 * that a crowd of them woken by one commit queues here instead of in the pool, ahead of every
 * other query.
 */
export const REQUERY_CONCURRENCY = 2;

export interface FeedQuery {
  after: bigint | null;
  types: readonly IntegrationEventType[] | undefined;
  limit: number;
}

interface Waiter {
  /** Woken once the checkpoint passes this. */
  after: bigint;
  settle: (moved: boolean) => void;
}

/**
 * The pull feed of integration events with its long-poll. A page comes from
 * IntegrationEventReader (only rows up to the projector's checkpoint, so a cursor never skips or
 * repeats an event). When the page is empty and the caller may wait, the request waits until the
 * checkpoint passes its cursor, reads again, and answers as soon as a page has an item; events
 * that publish nothing (or other types) move the cursor on without answering. At the deadline,
 * when the client goes away, or when the app closes, it answers the empty page it has.
 *
 * Waiting costs no query per request: one loop per process reads the checkpoint every
 * CHECKPOINT_POLL_MS while anyone waits (a projector in another process), and this process's own
 * projector wakes the waiters at once when it commits. The loop, the projector hook and every
 * timer exist only while a request waits.
 */
@Injectable()
export class IntegrationEventFeed implements OnModuleDestroy {
  private readonly reader: IntegrationEventReader;
  private readonly waiters = new Set<Waiter>();
  /** The highest checkpoint seen (it only grows). */
  private checkpoint: bigint | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private polling = false;
  private unsubscribe: (() => void) | null = null;
  private longPolls = 0;
  private closed = false;
  private requeries = 0;
  private readonly requeryQueue: (() => void)[] = [];

  constructor(
    store: ReadStore,
    private readonly projector: ReadModelProjector,
    @Inject(RAW_EVENT_STORE) private readonly log: EventStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.reader = new IntegrationEventReader(store.readDb);
  }

  /** Requests waiting in a long-poll now. */
  get waiting(): number {
    return this.longPolls;
  }

  /** Whether the checkpoint loop or the projector hook is active (false when nobody waits). */
  get watching(): boolean {
    return this.pollTimer !== null || this.polling || this.unsubscribe !== null;
  }

  async page(
    q: FeedQuery,
    wait: { waitMs: number; signal: AbortSignal },
  ): Promise<IntegrationEventPage> {
    let page = await this.reader.page(q);
    if (page.items.length > 0) return page;
    if (q.after !== null && BigInt(page.nextCursor) <= q.after) await this.refuseBeyondLog(q.after);
    if (wait.waitMs <= 0 || this.closed || wait.signal.aborted) return page;
    if (this.longPolls >= MAX_LONG_POLLS) {
      throw new ApiError(
        'SERVICE_UNAVAILABLE',
        'Too many long-polls are waiting on this instance; retry shortly (or without waitMs).',
        { limit: MAX_LONG_POLLS, retryAfterSeconds: 1 },
      );
    }
    this.longPolls += 1;
    try {
      const deadline = Date.now() + wait.waitMs;
      for (;;) {
        const cursor = BigInt(page.nextCursor);
        const left = deadline - Date.now();
        if (left <= 0 || !(await this.checkpointPasses(cursor, left, wait.signal))) return page;
        page = await this.requery(() => this.reader.page({ ...q, after: cursor }));
        if (page.items.length > 0) return page;
      }
    } finally {
      this.longPolls -= 1;
    }
  }

  /** Answers every waiting request with what it has, and lets none wait from now on. */
  onModuleDestroy(): void {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter.settle(false);
    this.stopWatching();
  }

  /**
   * A cursor the log has not reached cannot come from the feed (positions only grow, and a
   * nextCursor is at most the checkpoint): 400 rather than a wait for events it would skip.
   */
  private async refuseBeyondLog(after: bigint): Promise<void> {
    if (this.checkpoint !== null && after <= this.checkpoint) return;
    const head = (await this.log.headPosition()) ?? 0n;
    if (after > head)
      throw new ApiError('VALIDATION_FAILED', 'after is beyond the end of the event log.', {
        issues: [{ path: 'query.after', message: 'beyond the end of the log' }],
        head: head.toString(),
      });
  }

  /** True once the checkpoint is past `after`; false at the deadline, on abort or on close. */
  private checkpointPasses(after: bigint, ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.checkpoint !== null && this.checkpoint > after) return Promise.resolve(true);
    if (signal.aborted || this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const onAbort = (): void => waiter.settle(false);
      const timer = setTimeout(onAbort, ms);
      const waiter: Waiter = {
        after,
        settle: (moved) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          if (this.waiters.size === 0) this.stopWatching();
          resolve(moved);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      this.startWatching();
    });
  }

  private startWatching(): void {
    this.unsubscribe ??= this.projector.onProgress((position) => this.advance(position));
    if (this.pollTimer === null && !this.polling)
      this.pollTimer = setTimeout(() => void this.poll(), CHECKPOINT_POLL_MS);
  }

  private stopWatching(): void {
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private async poll(): Promise<void> {
    this.pollTimer = null;
    if (this.waiters.size === 0) return;
    this.polling = true;
    try {
      const at = await this.reader.checkpoint();
      if (at !== null) this.advance(at);
    } catch (err) {
      // The read database is unavailable: the waiters keep waiting until their deadline.
      this.logger.warn({ err }, 'integration-event feed: reading the checkpoint failed');
    } finally {
      this.polling = false;
    }
    if (this.waiters.size > 0 && !this.closed)
      this.pollTimer = setTimeout(() => void this.poll(), CHECKPOINT_POLL_MS);
    else this.stopWatching();
  }

  private advance(position: bigint): void {
    if (this.checkpoint === null || position > this.checkpoint) this.checkpoint = position;
    for (const waiter of [...this.waiters]) if (this.checkpoint > waiter.after) waiter.settle(true);
  }

  /** Runs a woken long-poll's page query with at most REQUERY_CONCURRENCY at once. */
  private async requery<T>(query: () => Promise<T>): Promise<T> {
    if (this.requeries >= REQUERY_CONCURRENCY)
      await new Promise<void>((resolve) => this.requeryQueue.push(resolve));
    else this.requeries += 1;
    try {
      return await query();
    } finally {
      const next = this.requeryQueue.shift();
      if (next) next();
      else this.requeries -= 1;
    }
  }
}
