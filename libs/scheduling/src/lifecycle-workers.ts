import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { LifecycleJobKind } from './job-ids';
import type { JobResult } from './job-processors';
import { DOMAIN_REFUSAL } from './job-processors';
import type { LifecycleMetrics } from './metrics';
import {
  LIFECYCLE_JOB_KINDS,
  LIFECYCLE_KEEP_JOBS,
  LIFECYCLE_QUEUES,
  LIFECYCLE_RUN_RETRY_DELAY_MS,
  type LifecycleJobData,
  lifecycleJobDataSchema,
} from './queues';

const DEFAULT_CONCURRENCY = 200;
const DEFAULT_PURGE_CONCURRENCY = 50;

/** Prefix of the failure reason of a job whose data is not a lifecycle job's (never retried). */
export const INVALID_JOB_DATA = 'INVALID_JOB_DATA';

export interface JobHandler {
  process(job: Job<LifecycleJobData>, token?: string): Promise<JobResult>;
}

export interface LifecycleWorkersOptions {
  /** A connection with maxRetriesPerRequest: null; BullMQ duplicates it for blocking calls. */
  connection: Redis;
  prefix: string;
  handlers: Readonly<Record<LifecycleJobKind, JobHandler>>;
  logger: Logger;
  metrics: LifecycleMetrics;
  /** Reads "now" for the job-lag metric. */
  nowMs: () => number;
  /**
   * Term-end and purge-notice jobs run at once (per queue). Default 200: each only appends to the
   * log, and the log commits the appends of a turn together (at month end 50 at once left the
   * workers paying a commit for a handful of appends).
   */
  concurrency?: number;
  /** Purge jobs run at once. Default 50: each calls every data holder. */
  purgeConcurrency?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Stalls (a worker died mid-job) allowed before a job fails; handlers are idempotent. */
  maxStalledCount?: number;
  /**
   * Awaited before each job runs: a shared controlled clock takes up the reading another process
   * stored, so the job decides at the time the clock was moved to.
   */
  beforeJob?: () => Promise<unknown>;
  /** Called after a job completed or failed for good (the clock driver's bookkeeping). */
  onFinished?: (jobId: string) => void;
}

/** One BullMQ worker per lifecycle queue, calling the processors. Created paused; run() starts them. */
export class LifecycleWorkers {
  readonly workers: Readonly<Record<LifecycleJobKind, Worker<LifecycleJobData, JobResult>>>;
  /** Jobs being processed by this process right now. */
  private inFlight = 0;

  constructor(private readonly o: LifecycleWorkersOptions) {
    const make = (kind: LifecycleJobKind) => {
      const worker = new Worker<LifecycleJobData, JobResult>(
        LIFECYCLE_QUEUES[kind],
        async (job, token) => {
          this.inFlight++;
          try {
            return await this.runJob(kind, job, token);
          } finally {
            this.inFlight--;
          }
        },
        {
          connection: o.connection,
          prefix: o.prefix,
          autorun: false,
          ...LIFECYCLE_KEEP_JOBS,
          concurrency:
            kind === 'purge'
              ? (o.purgeConcurrency ?? DEFAULT_PURGE_CONCURRENCY)
              : (o.concurrency ?? DEFAULT_CONCURRENCY),
          lockDuration: o.lockDurationMs ?? 30_000,
          stalledInterval: o.stalledIntervalMs ?? 30_000,
          maxStalledCount: o.maxStalledCount ?? 5,
          runRetryDelay: LIFECYCLE_RUN_RETRY_DELAY_MS,
        },
      );
      worker.on('completed', (job) => o.onFinished?.(job.id!));
      worker.on('failed', (job, error) => {
        if (!job) return;
        const refusal = error.message.startsWith(DOMAIN_REFUSAL);
        const invalid = error.message.startsWith(INVALID_JOB_DATA);
        const final = refusal || invalid || job.attemptsMade >= (job.opts.attempts ?? 1);
        if (final) {
          o.metrics.jobFinished(kind, refusal ? 'refused' : invalid ? 'invalid' : 'failed');
          o.onFinished?.(job.id!);
        }
        o.logger[final ? 'error' : 'warn'](
          { jobId: job.id, kind, attemptsMade: job.attemptsMade, err: error },
          final
            ? 'lifecycle job failed (kept in the failed set)'
            : 'lifecycle job failed, will retry',
        );
      });
      worker.on('stalled', (jobId) =>
        o.logger.warn({ jobId, kind }, 'lifecycle job stalled (its worker died?); it runs again'),
      );
      // Without a listener an 'error' event would crash the process; BullMQ reconnects itself.
      worker.on('error', (error) => o.logger.error({ err: error, kind }, 'lifecycle worker error'));
      return worker;
    };
    this.workers = {
      'term-end': make('term-end'),
      purge: make('purge'),
      'purge-notice': make('purge-notice'),
    };
  }

  private async runJob(
    kind: LifecycleJobKind,
    job: Job<LifecycleJobData>,
    token: string | undefined,
  ): Promise<JobResult> {
    const parsed = lifecycleJobDataSchema.safeParse(job.data);
    if (!parsed.success)
      throw new UnrecoverableError(
        `${INVALID_JOB_DATA}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'data'} ${i.message}`).join('; ')}`,
      );
    await this.o.beforeJob?.();
    if (job.attemptsMade === 0)
      this.o.metrics.jobStarted(
        LIFECYCLE_QUEUES[kind],
        kind,
        (this.o.nowMs() - Date.parse(job.data.dueAt)) / 1000,
      );
    const result = await this.o.handlers[kind].process(job, token);
    this.o.metrics.jobFinished(kind, result.outcome);
    return result;
  }

  /** Starts fetching jobs (run() resolves only when the worker closes, so it is not awaited). */
  run(): void {
    for (const kind of LIFECYCLE_JOB_KINDS) {
      const worker = this.workers[kind];
      if (worker.isRunning()) continue;
      worker
        .run()
        .catch((error: unknown) =>
          this.o.logger.error({ err: error, kind }, 'lifecycle worker stopped on an error'),
        );
    }
  }

  /**
   * Stops fetching, waits up to `graceMs` for the jobs in hand to finish, then closes by force
   * (BullMQ's graceful close can wait forever on its blocking connection after Redis restarted).
   * A job still running then is cut short and runs again once its lock expires (idempotent).
   */
  async close(graceMs = 10_000): Promise<void> {
    const workers = LIFECYCLE_JOB_KINDS.map((k) => this.workers[k]);
    await Promise.all(workers.map((w) => w.pause(true)));
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.inFlight > 0)
      this.o.logger.warn(
        { inFlight: this.inFlight, graceMs },
        'lifecycle workers closing with jobs still running; they run again after their lock expires',
      );
    // A worker whose connection is reconnecting (a Sentinel failover under way) rejects its close
    // with "Connection is closed" once the connection is dropped: closed all the same, and the
    // other workers are closed too.
    await Promise.all(
      workers.map((w) =>
        w
          .close(true)
          .catch((error: unknown) =>
            this.o.logger.warn({ err: error }, 'lifecycle worker closed with an error'),
          ),
      ),
    );
  }
}
