import {
  type AccountEvent,
  accountStreamId,
  fold,
  subscriptionDecider,
  type SubscriptionEvent,
  subscriptionStreamId,
} from '@app/domain';
import {
  CatchUpSubscription,
  type CheckpointStore,
  type EventStore,
  type RecordedEvent,
} from '@app/event-store';
import type { Logger } from 'pino';
import { mapLimit, type Mutex, sleep } from './async-utils';
import {
  accountHoldView,
  type AccountHoldView,
  desiredJobs,
  NO_HOLD,
  needsAccountView,
  supersededButKept,
} from './desired-jobs';
import type { JobRef, LifecycleQueues } from './lifecycle-queues';
import type { DesiredJob } from './queues';
import type { ScheduleRow, ScheduleTable } from './schedule-table';
import { StoredSchedulerProgress } from './scheduler-progress';

export const SCHEDULER_SUBSCRIPTION = 'lifecycle-scheduler';

/**
 * Events per batch. Each batch's steps (reads, table, Redis) each wait for a turn of an event loop
 * that, at month end, also runs hundreds of jobs: with 500 the scheduler fell seconds behind the
 * expiries it schedules the purges of.
 */
const BATCH_SIZE = 2000;

/** Events that change nothing a job depends on. */
const IGNORED = new Set([
  'CancellationRefused',
  'ReactivationRefused',
  'RoomMeetingAccountRevoked',
  'PersonalDataErased',
  // D9: billing's facts decide cancellations (R6, R19), never when a job runs.
  'BillingFactsUpdated',
  // D10: a refused erasure changes no hold, so no purge.
  'ErasureRefused',
]);

export interface LifecycleSchedulerOptions {
  /** The log to follow; the raw store is enough (only stream ids and types are read here). */
  feed: EventStore;
  /** The store to fold streams from (upcasting, decrypting): the one commands use. */
  store: EventStore;
  checkpoints: CheckpointStore;
  table: ScheduleTable;
  queues: LifecycleQueues;
  /** Shared with the reconciler: a batch's Redis writes and table rows go in together. */
  mutex: Mutex;
  logger: Logger;
  batchSize?: number;
  name?: string;
  /** D7: the purge-notice offsets in days (PURGE_NOTICE_DAYS); default 30 and 7. */
  purgeNoticeDays?: readonly number[];
  /**
   * Scheduling at scale: only jobs due before `limitMs()` (now + horizon, or the loader's
   * watermark if further) go into Redis; the others wait in the schedule table for the loader
   * (ScheduleLoader). Without it every job goes into Redis at once.
   */
  horizon?: { limitMs(): Promise<number> } | null;
}

export interface SyncResult {
  subscriptions: number;
  /** Jobs added to Redis (new, and due within the horizon). */
  scheduled: number;
  /** New jobs left to the loader in the schedule table (due beyond the horizon). */
  deferred: number;
  removed: number;
}

/**
 * The lifecycle scheduler: follows the whole log through its own checkpointed catch-up
 * subscription (never called from a command handler) and keeps the schedule table holding exactly
 * the jobs the log calls for, and Redis those of them due within the horizon.
 *
 * For a batch of events it collects the subscriptions they touch (a legal-hold event touches every
 * subscription of its account), folds each one's stream as it is *now*, derives the jobs its state
 * calls for (desiredJobs), adds those due before the horizon's limit (deterministic ids: adding
 * again is a no-op; later ones the loader adds when they come near), records the derivation in the
 * schedule table, then removes the jobs a previous derivation called for and this one does not
 * (superseded: renewed, withdrawn, reactivated …) and that are not due yet (a due one has run, is
 * running or runs now, and completes without effect): the row first, so that a loader reading the
 * old row meanwhile either sees the new one when it checks after its add, or has its add undone by
 * this removal. Only after that does the subscription save its checkpoint, so the checkpoint never
 * passes an event whose jobs are not in the table (and, within the horizon, in Redis); a crash in
 * between re-delivers the batch, and re-deriving is idempotent (a superseded job a crash left in
 * Redis is the reconciler's to remove, and completes without effect if it runs first).
 */
export class LifecycleScheduler {
  private readonly subscription: CatchUpSubscription;

  private readonly stored: StoredSchedulerProgress;
  /**
   * Events per batch, and streams folded at once: a whole batch's, since the stores read the
   * streams asked for in one turn together.
   */
  private readonly batchSize: number;

  constructor(private readonly o: LifecycleSchedulerOptions) {
    this.batchSize = o.batchSize ?? BATCH_SIZE;
    this.stored = new StoredSchedulerProgress({
      feed: o.feed,
      checkpoints: o.checkpoints,
      name: o.name ?? SCHEDULER_SUBSCRIPTION,
    });
    this.subscription = new CatchUpSubscription({
      name: o.name ?? SCHEDULER_SUBSCRIPTION,
      store: o.feed,
      checkpoints: o.checkpoints,
      batchSize: this.batchSize,
      retry: { initialDelayMs: 100, maxDelayMs: 10_000 },
      handle: (events) => this.handle(events),
      onError: (error, ctx) =>
        o.logger.error(
          { err: error, stage: ctx.stage, attempt: ctx.attempt, retryInMs: ctx.retryInMs },
          'lifecycle scheduler: step failed, retrying',
        ),
    });
  }

  get name(): string {
    return this.subscription.name;
  }

  /** Position of the last event whose jobs are in Redis (null before the first batch). */
  get position(): bigint | null {
    return this.subscription.position;
  }

  get health() {
    return this.subscription.health;
  }

  lag(): Promise<bigint> {
    return this.subscription.lag();
  }

  start(): void {
    this.subscription.start();
  }

  stop(): Promise<void> {
    return this.subscription.stop();
  }

  /**
   * Resolves true once every event in the log when called (and since) has its jobs in Redis;
   * false after `timeoutMs`, or as soon as `signal` is aborted (the lifecycle stopping).
   */
  async waitCaughtUp(timeoutMs = 30_000, signal?: AbortSignal): Promise<boolean> {
    // Another process may hold the scheduler's lease: its stored checkpoint tells then.
    if (!this.subscription.running) return this.stored.waitCaughtUp(timeoutMs, signal);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const head = await this.o.feed.headPosition();
      const at = this.subscription.position;
      if (head === null || (at !== null && at >= head)) return true;
      if (Date.now() > deadline || signal?.aborted) return false;
      await sleep(5);
    }
  }

  private async handle(events: RecordedEvent[]): Promise<void> {
    const touched = new Set<string>();
    const accounts = new Set<string>();
    for (const e of events) {
      if (IGNORED.has(e.type)) continue;
      if (e.streamId.startsWith('subscription-'))
        touched.add(e.streamId.slice('subscription-'.length));
      else if (e.streamId.startsWith('account-') && e.type.startsWith('LegalHold'))
        accounts.add(e.streamId.slice('account-'.length));
    }
    for (const accountId of accounts)
      for (const id of await this.o.table.subscriptionsOfAccount(accountId)) touched.add(id);
    if (touched.size === 0) return;
    await this.o.mutex.run(() => this.sync([...touched]));
  }

  /** Re-derives the jobs of these subscriptions from their streams and applies the difference. */
  async sync(subscriptionIds: readonly string[]): Promise<SyncResult> {
    // Read under the scheduler's lock, after the loader's last run: never below its watermark.
    // Asked first, so that its round trip overlaps the folds.
    const limiting = this.o.horizon ? this.o.horizon.limitMs() : null;
    limiting?.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
    const rows = (await mapLimit(subscriptionIds, this.batchSize, (id) => this.derive(id))).filter(
      (r): r is ScheduleRow => r !== null,
    );
    const toAdd: DesiredJob[] = [];
    const toRemove: JobRef[] = [];
    // One query for the batch: on PostgreSQL a round trip per subscription would dominate.
    const recorded = await this.o.table.getMany(rows.map((r) => r.subscriptionId));
    for (const row of rows) {
      const before = recorded.get(row.subscriptionId);
      if (!before || before.revision > row.revision) {
        toAdd.push(...row.jobs);
        continue;
      }
      // A job this derivation shares with the recorded one was put into Redis then: most events
      // (a cancellation, a refusal, a survey) leave the jobs as they were and cost no Redis call.
      // A job lost from Redis since then is the reconciler's to restore, as after a FLUSHALL.
      const had = new Set(before.jobs.map((j) => j.jobId));
      for (const job of row.jobs) if (!had.has(job.jobId)) toAdd.push(job);
      // A superseded job that is due already is left alone: it has run (the job behind most
      // month-end events), is running, or runs now and finds the state moved on.
      const keep = new Set(row.jobs.map((j) => j.jobId));
      for (const old of before.jobs)
        if (
          !keep.has(old.jobId) &&
          !supersededButKept(old.kind, row.jobs) &&
          this.o.queues.delayFor(old.dueMs) > 0
        )
          toRemove.push({ kind: old.kind, jobId: old.jobId });
    }
    const limit = limiting ? await limiting : Number.POSITIVE_INFINITY;
    const near = toAdd.filter((j) => j.dueMs < limit);
    await this.o.queues.schedule(near);
    await this.o.table.putAll(rows);
    const removed = await this.o.queues.unschedule(toRemove);
    return {
      subscriptions: rows.length,
      scheduled: near.length,
      deferred: toAdd.length - near.length,
      removed,
    };
  }

  private async derive(subscriptionId: string): Promise<ScheduleRow | null> {
    const recorded = await this.o.store.readStream(subscriptionStreamId(subscriptionId));
    if (recorded.length === 0) return null;
    const state = fold(
      subscriptionDecider,
      recorded.map((e) => ({ type: e.type, data: e.data }) as unknown as SubscriptionEvent),
    );
    if (state.status === 'unregistered') return null;
    let account: AccountHoldView = NO_HOLD;
    if (needsAccountView(state)) {
      const accountEvents = await this.o.store.readStream(accountStreamId(state.accountId));
      account = accountHoldView(
        accountEvents.map((e) => ({ type: e.type, data: e.data }) as unknown as AccountEvent),
      );
    }
    return {
      subscriptionId,
      accountId: state.accountId,
      revision: recorded.length - 1,
      status: state.status,
      jobs: desiredJobs(state, account, this.o.purgeNoticeDays),
    };
  }
}
