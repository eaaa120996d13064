import { Queue, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '@app/platform';
import { chunks } from './async-utils';
import type { LifecycleJobKind } from './job-ids';
import {
  type DesiredJob,
  LIFECYCLE_JOB_KINDS,
  LIFECYCLE_JOB_OPTIONS,
  LIFECYCLE_QUEUES,
  type LifecycleJobData,
} from './queues';

export interface JobRef {
  readonly kind: LifecycleJobKind;
  readonly jobId: string;
}

/** States in which a job is still going to run (or running). */
export const PENDING_STATES: readonly JobType[] = [
  'delayed',
  'wait',
  'active',
  'prioritized',
  'waiting-children',
];

export const kindOfJobId = (jobId: string): LifecycleJobKind =>
  jobId.startsWith('term-end-')
    ? 'term-end'
    : jobId.startsWith('purge-notice-')
      ? 'purge-notice'
      : 'purge';

export interface LifecycleQueuesOptions {
  /** A producer connection (shared; closed by its owner, not here). */
  connection: Redis;
  prefix: string;
  clock: Clock;
  /**
   * Keep a sorted set of pending jobs by due time (`<prefix>:lifecycle:due`). Only needed with a
   * controlled clock: BullMQ's delays follow real time, so the clock driver finds the jobs due by
   * the controlled time here (see ClockDriver).
   */
  trackDueTimes: boolean;
}

/**
 * The lifecycle queues (one per job kind), as the scheduler and the reconciler use them: add jobs with a delay
 * computed from the injected clock (so a controlled clock sets the delays too), remove superseded
 * ones, list what Redis holds.
 */
export class LifecycleQueues {
  readonly queues: Readonly<Record<LifecycleJobKind, Queue<LifecycleJobData>>>;
  readonly dueIndexKey: string;

  constructor(private readonly o: LifecycleQueuesOptions) {
    const make = (kind: LifecycleJobKind) =>
      new Queue<LifecycleJobData>(LIFECYCLE_QUEUES[kind], {
        connection: o.connection,
        prefix: o.prefix,
      });
    this.queues = {
      'term-end': make('term-end'),
      purge: make('purge'),
      'purge-notice': make('purge-notice'),
    };
    this.dueIndexKey = `${o.prefix}:lifecycle:due`;
  }

  get prefix(): string {
    return this.o.prefix;
  }

  get tracksDueTimes(): boolean {
    return this.o.trackDueTimes;
  }

  get connection(): Redis {
    return this.o.connection;
  }

  queue(kind: LifecycleJobKind): Queue<LifecycleJobData> {
    return this.queues[kind];
  }

  /** Delay until `dueMs` on the injected clock (0 when due already). */
  delayFor(dueMs: number): number {
    return Math.max(0, dueMs - this.o.clock.now().toMillis());
  }

  /**
   * Adds the jobs (pipelined, in chunks). A job whose id exists already is left as it is (BullMQ
   * ignores the duplicate), which is what makes scheduling twice harmless.
   */
  async schedule(jobs: readonly DesiredJob[]): Promise<void> {
    for (const kind of LIFECYCLE_JOB_KINDS) {
      const ofKind = jobs.filter((j) => j.kind === kind);
      for (const chunk of chunks(ofKind, 1000)) {
        if (this.o.trackDueTimes) {
          const args = chunk.flatMap((j) => [j.dueMs, j.jobId]);
          await this.o.connection.zadd(this.dueIndexKey, ...args);
        }
        await this.queues[kind].addBulk(
          chunk.map((j) => ({
            name: kind,
            data: j.data,
            opts: { ...LIFECYCLE_JOB_OPTIONS, jobId: j.jobId, delay: this.delayFor(j.dueMs) },
          })),
        );
      }
    }
  }

  /**
   * Removes jobs that the log no longer calls for. A job that has started (active) stays, even
   * when its worker died and its lock expired: it finishes (or runs again after the stall) and
   * finds its work done in the log. Returns how many were removed.
   */
  async unschedule(refs: readonly JobRef[]): Promise<number> {
    let removed = 0;
    for (const batch of chunks(refs, 200)) {
      // Skip jobs that are gone already (typically: completed) and jobs that have started.
      const check = this.o.connection.pipeline();
      for (const r of batch) {
        check.exists(this.queues[r.kind].toKey(r.jobId));
        check.lpos(this.queues[r.kind].keys.active!, r.jobId);
      }
      const replies = (await check.exec()) ?? [];
      const chunk = batch.filter(
        (_, i) => replies[2 * i]?.[1] === 1 && replies[2 * i + 1]?.[1] === null,
      );
      const results = await Promise.all(
        chunk.map((r) => this.queues[r.kind].remove(r.jobId).catch(() => 0)),
      );
      removed += results.reduce((n, x) => n + (x === 1 ? 1 : 0), 0);
      if (this.o.trackDueTimes && chunk.length > 0)
        await this.o.connection.zrem(this.dueIndexKey, ...chunk.map((r) => r.jobId));
    }
    return removed;
  }

  /** Ids of the jobs of one kind in the given states. */
  async jobIds(kind: LifecycleJobKind, states: readonly JobType[]): Promise<string[]> {
    return this.queues[kind].getRanges([...states], 0, -1);
  }

  /** Jobs waiting to run or running now, over both queues (the clock driver waits for 0). */
  async busyCount(): Promise<number> {
    let n = 0;
    for (const kind of LIFECYCLE_JOB_KINDS) {
      const c = await this.queues[kind].getJobCounts('wait', 'active', 'prioritized');
      n += Object.values(c).reduce((a, b) => a + b, 0);
    }
    return n;
  }

  async close(): Promise<void> {
    await Promise.all(LIFECYCLE_JOB_KINDS.map((k) => this.queues[k].close()));
  }
}
