import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { EventStore } from '@app/event-store';
import { RAW_EVENT_STORE } from '@app/infrastructure';
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

/**
 * The pull feed of integration events with its long-poll. A page comes from
 * IntegrationEventReader (only rows up to the projector's checkpoint, so a cursor never skips or
 * repeats an event). When the page is empty and the caller may wait, the request waits until the
 * checkpoint passes its cursor (ReadModelProjector.waitFor: woken by this process's projector,
 * one checkpoint read for all waiters otherwise), reads again, and answers as soon as a page has
 * an item; events that publish nothing (or other types) move the cursor on without answering. At
 * the deadline, when the client goes away, or when the app closes, it answers the empty page it
 * has.
 */
@Injectable()
export class IntegrationEventFeed implements OnModuleDestroy {
  private readonly reader: IntegrationEventReader;
  private readonly closing = new AbortController();
  private longPolls = 0;
  /** Long-polls waiting on the projector right now (not reading a page). */
  private onProjector = 0;
  private requeries = 0;
  private readonly requeryQueue: (() => void)[] = [];

  constructor(
    store: ReadStore,
    private readonly projector: ReadModelProjector,
    @Inject(RAW_EVENT_STORE) private readonly log: EventStore,
  ) {
    this.reader = new IntegrationEventReader(store.readDb);
  }

  /** Requests waiting in a long-poll now. */
  get waiting(): number {
    return this.longPolls;
  }

  /** Whether a long-poll waits on the projector's checkpoint now (false when nobody waits). */
  get watching(): boolean {
    return this.onProjector > 0;
  }

  async page(
    q: FeedQuery,
    wait: { waitMs: number; signal: AbortSignal },
  ): Promise<IntegrationEventPage> {
    let page = await this.reader.page(q);
    if (page.items.length > 0) return page;
    if (q.after !== null && BigInt(page.nextCursor) <= q.after) await this.refuseBeyondLog(q.after);
    const signal = AbortSignal.any([wait.signal, this.closing.signal]);
    if (wait.waitMs <= 0 || signal.aborted) return page;
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
        if (left <= 0 || !(await this.checkpointPasses(cursor, left, signal))) return page;
        page = await this.requery(() => this.reader.page({ ...q, after: cursor }));
        if (page.items.length > 0) return page;
      }
    } finally {
      this.longPolls -= 1;
    }
  }

  /** Answers every waiting request with what it has, and lets none wait from now on. */
  onModuleDestroy(): void {
    this.closing.abort();
  }

  /**
   * A cursor the log has not reached cannot come from the feed (positions only grow, and a
   * nextCursor is at most the checkpoint): 400 rather than a wait for events it would skip.
   */
  private async refuseBeyondLog(after: bigint): Promise<void> {
    // A consumer that is up to date sends the checkpoint itself: known without reading the log.
    if (await this.projector.waitFor(after, 0)) return;
    const head = (await this.log.headPosition()) ?? 0n;
    if (after > head)
      throw new ApiError('VALIDATION_FAILED', 'after is beyond the end of the event log.', {
        issues: [{ path: 'query.after', message: 'beyond the end of the log' }],
        head: head.toString(),
      });
  }

  /** True once the checkpoint is past `after`; false at the deadline, on abort or on close. */
  private async checkpointPasses(after: bigint, ms: number, signal: AbortSignal): Promise<boolean> {
    this.onProjector += 1;
    try {
      return await this.projector.waitFor(after + 1n, ms, signal);
    } finally {
      this.onProjector -= 1;
    }
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
