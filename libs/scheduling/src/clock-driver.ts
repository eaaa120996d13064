import {
  ClockBackwardsError,
  type ControlledClock,
  toUtcInstant,
  type InstantInput,
} from '@app/platform';
import type { DateTime } from 'luxon';
import type { Logger } from 'pino';
import { chunks, sleep } from './async-utils';
import { kindOfJobId, type LifecycleQueues } from './lifecycle-queues';
import type { SchedulerProgress } from './scheduler-progress';

export interface DrainReport {
  /** Jobs promoted from the delayed set because the controlled time reached them. */
  promoted: number;
  /** Rounds of promote → wait for the workers → wait for the scheduler. */
  rounds: number;
}

export interface AdvanceReport extends DrainReport {
  now: string;
  /** Due instants the clock stopped at on the way (stepping). */
  steps: number;
}

/**
 * Scheduling at scale: where the jobs beyond Redis's horizon wait (the schedule table, through
 * the ScheduleLoader).
 */
export interface HorizonJobs {
  readonly horizonMs: number;
  /** Adds to Redis every job the table calls for that is due before `limitMs`. */
  loadBefore(limitMs: number): Promise<number>;
  /** The earliest due instant in (afterMs, toMs] of a job the table calls for, or null. */
  nextDueAfter(afterMs: number, toMs: number): Promise<number | null>;
}

export interface ClockDriverOptions {
  clock: ControlledClock;
  queues: LifecycleQueues;
  /** Where the scheduler stands; it may run in another process (StoredSchedulerProgress). */
  scheduler: SchedulerProgress;
  logger: Logger;
  /**
   * The table's jobs beyond the horizon: each drain round first loads those now within the
   * horizon of the new time, and stepping stops at their due instants too. Without it only
   * Redis is looked at (every job in Redis at once).
   */
  horizon?: HorizonJobs | null;
  /** Longest a drain may take before advanceTo fails (default 5 minutes). */
  drainTimeoutMs?: number;
  pollMs?: number;
}

/**
 * Controlled clock (CLOCK_MODE=controlled, docs/http-api.md) over BullMQ. BullMQ's delays follow the real
 * clock of the worker, so they cannot follow a clock that only moves when told to. Instead:
 *
 * - jobs are added with their delay computed from the controlled clock, and their due time is
 *   also kept in a sorted set (`<prefix>:lifecycle:due`, LifecycleQueues.trackDueTimes);
 * - after every move of the clock (an onAdvance listener, awaited by advanceTo) the driver
 *   *drains*: it waits for the scheduler to have every event's jobs in Redis, promotes the
 *   delayed jobs due at or before the new time in due order (having first loaded from the
 *   schedule table every job now within the horizon of the new time: with a horizon, Redis holds
 *   only the near jobs, HorizonJobs), waits until the workers have run
 *   them, lets the scheduler catch up with what they wrote (a renewal schedules the next term
 *   end, an expiry the purge), and repeats until nothing due is left and the queues are idle.
 *   Jobs that jobs schedule in the past of the new time are thereby run in the same move;
 * - advanceTo() (what POST /v1/ops/clock calls) also *steps*: before going to the target it
 *   moves the clock to each earlier due instant in turn (found in Redis and in the schedule
 *   table), so a job runs with the clock reading its
 *   due time, exactly as it would have in real time: three renewals in one jump are recorded at
 *   three term ends, not all at the target time. A bare clock.advanceTo() still runs everything
 *   due, at the target time.
 *
 * Everything the drain looks at is shared (the scheduler's stored checkpoint, the queues in
 * Redis, the clock's reading in the shared state), so the process that moves the clock (an api)
 * need not be the one that schedules or runs the jobs: the workers sync the clock before each job.
 */
export class ClockDriver {
  private detach: (() => void) | null = null;
  private lastDrain: DrainReport = { promoted: 0, rounds: 0 };

  constructor(private readonly o: ClockDriverOptions) {}

  attach(): void {
    this.detach ??= this.o.clock.onAdvance(async (_from, to) => {
      this.lastDrain = await this.drain(to.toMillis());
    });
  }

  dispose(): void {
    this.detach?.();
    this.detach = null;
  }

  now(): DateTime {
    return this.o.clock.now();
  }

  /** Moves the clock to `target`, stopping at every due instant on the way. */
  async advanceTo(target: InstantInput, options: { step?: boolean } = {}): Promise<AdvanceReport> {
    const to = toUtcInstant(target);
    if (to < this.o.clock.now()) throw new ClockBackwardsError(this.o.clock.now(), to);
    const total: DrainReport = { promoted: 0, rounds: 0 };
    let steps = 0;
    const add = (r: DrainReport): void => {
      total.promoted += r.promoted;
      total.rounds += r.rounds;
    };
    if (options.step ?? true) {
      // The due instants are read from the scheduler's derivations: let it have every event first.
      await this.o.scheduler.waitCaughtUp(this.o.drainTimeoutMs ?? 300_000);
      for (;;) {
        const next = await this.nextDueAfter(this.o.clock.now().toMillis(), to.toMillis());
        if (next === null) break;
        await this.o.clock.advanceTo(new Date(next));
        add(this.lastDrain);
        steps++;
      }
    }
    await this.o.clock.advanceTo(to);
    add(this.lastDrain);
    return { now: this.o.clock.now().toISO()!, steps, ...total };
  }

  /** Runs every job due at or before `toMs` (see the class comment). */
  async drain(toMs: number): Promise<DrainReport> {
    const deadline = Date.now() + (this.o.drainTimeoutMs ?? 300_000);
    const report: DrainReport = { promoted: 0, rounds: 0 };
    for (;;) {
      if (Date.now() > deadline)
        throw new Error(
          `controlled clock: jobs due by ${new Date(toMs).toISOString()} did not finish within ` +
            `${this.o.drainTimeoutMs ?? 300_000} ms (is a worker with the scheduler running?)`,
        );
      report.rounds++;
      await this.waitIdle(deadline);
      if (!(await this.o.scheduler.waitCaughtUp(Math.max(0, deadline - Date.now())))) continue;
      if ((await this.o.queues.busyCount()) > 0) continue;
      // The table is current (the scheduler has caught up): what the move brought within the
      // horizon goes into Redis before the due ones are promoted. A job loaded already due runs
      // at once, without a promotion: the next round waits for it.
      const loaded = this.o.horizon
        ? await this.o.horizon.loadBefore(toMs + this.o.horizon.horizonMs)
        : 0;
      const { promoted, pending } = await this.promoteDue(toMs);
      report.promoted += promoted;
      if (promoted === 0 && pending === 0 && loaded === 0) return report;
    }
  }

  /** Earliest due time in (afterMs, toMs] of a job still pending, in Redis or the table, or null. */
  private async nextDueAfter(afterMs: number, toMs: number): Promise<number | null> {
    const inRedis = await this.nextDueInRedisAfter(afterMs, toMs);
    if (!this.o.horizon) return inRedis;
    const inTable = await this.o.horizon.nextDueAfter(afterMs, inRedis ?? toMs);
    return inTable === null ? inRedis : inRedis === null ? inTable : Math.min(inRedis, inTable);
  }

  private async nextDueInRedisAfter(afterMs: number, toMs: number): Promise<number | null> {
    const redis = this.o.queues.connection;
    for (;;) {
      const [id, score] = await redis.zrangebyscore(
        this.o.queues.dueIndexKey,
        `(${afterMs}`,
        toMs,
        'WITHSCORES',
        'LIMIT',
        0,
        1,
      );
      if (id === undefined || score === undefined) return null;
      const state = await this.o.queues.queue(kindOfJobId(id)).getJobState(id);
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return Number(score);
      await redis.zrem(this.o.queues.dueIndexKey, id);
    }
  }

  /**
   * Promotes the delayed jobs due by `toMs`, in due order, and forgets the due entries of jobs
   * that are gone (completed, removed, failed for good). `pending` counts due jobs that are
   * neither delayed nor gone (waiting or running): the caller waits for them.
   */
  private async promoteDue(toMs: number): Promise<{ promoted: number; pending: number }> {
    const redis = this.o.queues.connection;
    const due = await redis.zrangebyscore(this.o.queues.dueIndexKey, '-inf', toMs);
    if (due.length === 0) return { promoted: 0, pending: 0 };
    const pipeline = redis.pipeline();
    for (const id of due) {
      const q = this.o.queues.queue(kindOfJobId(id));
      pipeline.zscore(q.keys.delayed!, id);
      pipeline.zscore(q.keys.failed!, id);
      pipeline.exists(q.toKey(id));
    }
    const replies = (await pipeline.exec()) ?? [];
    const gone: string[] = [];
    const toPromote: string[] = [];
    let pending = 0;
    for (let i = 0; i < due.length; i++) {
      const id = due[i]!;
      const delayed = replies[3 * i]?.[1] !== null;
      const failed = replies[3 * i + 1]?.[1] !== null;
      const exists = replies[3 * i + 2]?.[1] === 1;
      if (!exists || failed) gone.push(id);
      else if (delayed) toPromote.push(id);
      else pending++;
    }
    // In due order, a few hundred promotions in flight at a time (ioredis pipelines them).
    let promoted = 0;
    for (const batch of chunks(toPromote, 500)) {
      const results = await Promise.all(
        batch.map(async (id) => {
          try {
            const job = await this.o.queues.queue(kindOfJobId(id)).getJob(id);
            await job?.promote();
            return job ? 1 : 0;
          } catch (error) {
            // It moved on its own between the check and the promotion: look again next round.
            this.o.logger.debug({ jobId: id, err: error }, 'controlled clock: promotion skipped');
            return -1;
          }
        }),
      );
      for (const r of results) {
        if (r === 1) promoted++;
        else if (r === -1) pending++;
      }
    }
    if (gone.length > 0) await redis.zrem(this.o.queues.dueIndexKey, ...gone);
    return { promoted, pending };
  }

  private async waitIdle(deadline: number): Promise<void> {
    const pollMs = this.o.pollMs ?? 10;
    while ((await this.o.queues.busyCount()) > 0) {
      if (Date.now() > deadline) return;
      await sleep(pollMs);
    }
  }

  /** Called when a job completed or failed for good: its due entry is no longer needed. */
  async forget(jobId: string): Promise<void> {
    await this.o.queues.connection.zrem(this.o.queues.dueIndexKey, jobId);
  }
}
