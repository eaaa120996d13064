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
  /**
   * Term-end and purge-notice jobs run at once per process and queue (LIFECYCLE_CONCURRENCY,
   * default 200): each only appends to the log, and more at once make larger group commits.
   */
  concurrency?: number;
  /**
   * Purge jobs run at once per process (LIFECYCLE_PURGE_CONCURRENCY, default 50): each calls every
   * data holder, so this bounds the load a purge burst puts on them.
   */
  purgeConcurrency?: number;
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
  /**
   * The horizon (LIFECYCLE_HORIZON_HOURS, default 48 h): Redis holds only the jobs due before
   * now + this; the rest wait in the schedule table until the loader moves them in.
   */
  horizonMs?: number;
  /**
   * How often the loader moves jobs from the schedule table into Redis
   * (LIFECYCLE_LOADER_INTERVAL_MS, default 60 s). At most a quarter of the horizon (checked).
   */
  loaderIntervalMs?: number;
}

/** Redis holds the jobs due within this of now (LIFECYCLE_HORIZON_HOURS): 48 hours. */
export const DEFAULT_HORIZON_MS = 48 * 3_600_000;
/** The loader runs this often (LIFECYCLE_LOADER_INTERVAL_MS): a minute. */
export const DEFAULT_LOADER_INTERVAL_MS = 60_000;
/**
 * The loader's interval may be at most this fraction of the horizon: a job then enters Redis at
 * least three quarters of the horizon before it is due, as long as a process holds the
 * scheduler's lease (a fail-over takes seconds).
 */
export const MAX_LOADER_INTERVAL_FRACTION = 0.25;

/** The horizon and the loader's interval of these options, checked against each other. */
export function horizonOf(o: LifecycleOptions): { horizonMs: number; loaderIntervalMs: number } {
  const horizonMs = o.horizonMs ?? DEFAULT_HORIZON_MS;
  const loaderIntervalMs =
    o.loaderIntervalMs ??
    Math.min(DEFAULT_LOADER_INTERVAL_MS, Math.floor(horizonMs * MAX_LOADER_INTERVAL_FRACTION));
  if (!(horizonMs > 0) || !(loaderIntervalMs > 0))
    throw new Error('lifecycle settings: the horizon and the loader interval must be positive');
  if (loaderIntervalMs > horizonMs * MAX_LOADER_INTERVAL_FRACTION)
    throw new Error(
      `lifecycle settings: the loader interval (${loaderIntervalMs} ms, LIFECYCLE_LOADER_INTERVAL_MS) ` +
        `must be at most a quarter of the horizon (${horizonMs} ms, LIFECYCLE_HORIZON_HOURS), ` +
        'so that every job is in Redis well before it is due',
    );
  return { horizonMs, loaderIntervalMs };
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
  LIFECYCLE_PURGE_CONCURRENCY: positiveInt.optional(),
  LIFECYCLE_LOCK_DURATION_MS: positiveInt.optional(),
  LIFECYCLE_STALLED_INTERVAL_MS: positiveInt.optional(),
  LIFECYCLE_SCHEDULER: z.enum(['on', 'off'], { error: 'must be on or off' }).optional(),
  LIFECYCLE_HORIZON_HOURS: positiveInt.optional(),
  LIFECYCLE_LOADER_INTERVAL_MS: positiveInt.optional(),
});

/** Tuning knobs of the lifecycle worker from the environment (all optional). */
export function lifecycleOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LifecycleOptions {
  const e = settingsFromEnv(envSchema, env, 'lifecycle settings');
  const options: LifecycleOptions = {
    ...(e.LIFECYCLE_QUEUE_PREFIX ? { prefix: e.LIFECYCLE_QUEUE_PREFIX } : {}),
    ...(e.LIFECYCLE_CONCURRENCY ? { concurrency: e.LIFECYCLE_CONCURRENCY } : {}),
    ...(e.LIFECYCLE_PURGE_CONCURRENCY ? { purgeConcurrency: e.LIFECYCLE_PURGE_CONCURRENCY } : {}),
    ...(e.LIFECYCLE_LOCK_DURATION_MS ? { lockDurationMs: e.LIFECYCLE_LOCK_DURATION_MS } : {}),
    ...(e.LIFECYCLE_STALLED_INTERVAL_MS
      ? { stalledIntervalMs: e.LIFECYCLE_STALLED_INTERVAL_MS }
      : {}),
    ...(e.LIFECYCLE_SCHEDULER ? { scheduler: e.LIFECYCLE_SCHEDULER === 'on' } : {}),
    ...(e.LIFECYCLE_HORIZON_HOURS ? { horizonMs: e.LIFECYCLE_HORIZON_HOURS * 3_600_000 } : {}),
    ...(e.LIFECYCLE_LOADER_INTERVAL_MS ? { loaderIntervalMs: e.LIFECYCLE_LOADER_INTERVAL_MS } : {}),
  };
  horizonOf(options); // refuses an interval too long for the horizon at start-up
  return options;
}

export const defaultPrefix = (o: LifecycleOptions): string => o.prefix ?? DEFAULT_QUEUE_PREFIX;
