import { z } from 'zod';
import { settingsFromEnv } from '@app/platform';
import { DEFAULT_QUEUE_PREFIX } from './queues';

/**
 * Which parts of the lifecycle run in a process:
 * - `all`: api and worker in one process (`npm start`): Redis, scheduler, reconciler, workers and
 *   the controlled-clock driver; REDIS_URL may be unset (a private redis-server is started);
 * - `worker`: scheduler, reconciler and workers (`npm run start:worker`);
 * - `api`: only a Redis connection, for readiness (`npm run start:api`).
 * Run apart, api and worker must share one Redis: REDIS_URL is then required.
 */
export type LifecycleRole = 'all' | 'api' | 'worker';

export interface LifecycleOptions {
  role?: LifecycleRole;
  /** BullMQ key prefix (LIFECYCLE_QUEUE_PREFIX, default `bull`). */
  prefix?: string;
  /** Jobs run at once per queue and process (LIFECYCLE_CONCURRENCY, default 50). */
  concurrency?: number;
  /** BullMQ lock: a job whose worker died runs again after this (LIFECYCLE_LOCK_DURATION_MS, 30 s). */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs (LIFECYCLE_STALLED_INTERVAL_MS, 30 s). */
  stalledIntervalMs?: number;
  maxStalledCount?: number;
  /** Default: RECONCILE_INTERVAL_MS from the configuration. */
  reconcileIntervalMs?: number;
  /** Reconcile once at start-up (default true). */
  reconcileOnStart?: boolean;
  /** See ReconcilerOptions.staleGraceMs. */
  staleGraceMs?: number;
  schedulerBatchSize?: number;
  /** Longest a controlled-clock move may take to run its jobs. */
  drainTimeoutMs?: number;
  /**
   * Role `worker` only: false runs jobs without following the log (no scheduler, no reconciler),
   * for extra worker replicas next to one that schedules (LIFECYCLE_SCHEDULER=off). Default true.
   */
  scheduler?: boolean;
  /** Overrides REDIS_URL from the configuration. */
  redisUrl?: string;
  /** D7: overrides PURGE_NOTICE_DAYS from the configuration (offsets in days, e.g. [30, 7]). */
  purgeNoticeDays?: readonly number[];
}

const positiveInt = z
  .string()
  .regex(/^\d+$/, { error: 'must be a positive integer' })
  .transform(Number)
  .refine((n) => n > 0, { error: 'must be a positive integer' });

const envSchema = z.object({
  LIFECYCLE_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 letters, digits, _ or -' })
    .optional(),
  LIFECYCLE_CONCURRENCY: positiveInt.optional(),
  LIFECYCLE_LOCK_DURATION_MS: positiveInt.optional(),
  LIFECYCLE_STALLED_INTERVAL_MS: positiveInt.optional(),
  LIFECYCLE_SCHEDULER: z.enum(['on', 'off'], { error: 'must be on or off' }).optional(),
});

/** Tuning knobs of the lifecycle worker from the environment (all optional). */
export function lifecycleOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LifecycleOptions {
  const e = settingsFromEnv(envSchema, env, 'lifecycle settings');
  return {
    ...(e.LIFECYCLE_QUEUE_PREFIX ? { prefix: e.LIFECYCLE_QUEUE_PREFIX } : {}),
    ...(e.LIFECYCLE_CONCURRENCY ? { concurrency: e.LIFECYCLE_CONCURRENCY } : {}),
    ...(e.LIFECYCLE_LOCK_DURATION_MS ? { lockDurationMs: e.LIFECYCLE_LOCK_DURATION_MS } : {}),
    ...(e.LIFECYCLE_STALLED_INTERVAL_MS
      ? { stalledIntervalMs: e.LIFECYCLE_STALLED_INTERVAL_MS }
      : {}),
    ...(e.LIFECYCLE_SCHEDULER ? { scheduler: e.LIFECYCLE_SCHEDULER === 'on' } : {}),
  };
}

export const defaultPrefix = (o: LifecycleOptions): string => o.prefix ?? DEFAULT_QUEUE_PREFIX;
