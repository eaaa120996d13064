import { z } from 'zod';
import type { JobsOptions, KeepJobs } from 'bullmq';
import type { LifecycleJobKind } from './job-ids';

/** One queue per job kind: term ends, purges and purge notices (D7) scale and fail independently. */
export const LIFECYCLE_QUEUES: Readonly<Record<LifecycleJobKind, string>> = Object.freeze({
  'term-end': 'lifecycle-term-end',
  purge: 'lifecycle-purge',
  'purge-notice': 'lifecycle-purge-notice',
});

export const LIFECYCLE_JOB_KINDS: readonly LifecycleJobKind[] = [
  'term-end',
  'purge',
  'purge-notice',
];

/** BullMQ's default key prefix; tests pass a fresh one per test. */
export const DEFAULT_QUEUE_PREFIX = 'bull';

/**
 * What a job carries: which subscription and when it is due. Deliberately small (Redis memory per
 * pending job, bench:schedule) and free of personal data (Redis is not encrypted). Everything else
 * is read from the stream when the job runs.
 */
export interface LifecycleJobData {
  readonly subscriptionId: string;
  readonly accountId: string;
  /** ISO 8601 UTC: the instant the job is for (also the epochMs suffix of its id). */
  readonly dueAt: string;
}

/**
 * A job's data as a worker finds it in Redis: written by the scheduler, but Redis is shared and
 * hand-editable, so it is checked before anything (metrics included) reads it.
 */
export const lifecycleJobDataSchema = z.object({
  subscriptionId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  accountId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  dueAt: z.iso.datetime(),
});

/** A job the log says should exist. */
export interface DesiredJob {
  readonly kind: LifecycleJobKind;
  readonly jobId: string;
  readonly dueMs: number;
  readonly data: LifecycleJobData;
}

/**
 * Options every lifecycle job carries. Infrastructure errors retry with exponential backoff
 * (1 s, 2 s, 4 s, … about 68 minutes over 12 attempts) and then stay in the failed set, where the
 * reconciler retries them; domain refusals fail at once (UnrecoverableError) and stay visible.
 * Kept small: every option is stored in each pending job's hash (Redis memory, bench:schedule).
 */
export const LIFECYCLE_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 12,
  backoff: { type: 'exponential', delay: 1000 },
});

/**
 * What the lifecycle workers keep of finished jobs (set on the workers, not on each job):
 * completed jobs are removed (the log, not Redis, is the record of what happened, and removing
 * them lets a later job reuse a deterministic id); failed jobs stay, visible to operators.
 */
export const LIFECYCLE_KEEP_JOBS: Readonly<{ removeOnComplete: KeepJobs; removeOnFail: KeepJobs }> =
  Object.freeze({ removeOnComplete: { count: 0 }, removeOnFail: { count: -1 } });

/**
 * How long a lifecycle worker waits before fetching again after a fetch failed (Redis down, a
 * Sentinel failover under way). BullMQ's default is 15 s: after a failover the workers sat idle
 * that long; a failed attempt is logged, so not much shorter.
 */
export const LIFECYCLE_RUN_RETRY_DELAY_MS = 2_000;
