import { type Job, Worker } from 'bullmq';
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
  type LifecycleJobData,
} from './queues';

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
  /** Jobs run at once per worker (per queue). Default 50: the SQLite log batches their appends. */
  concurrency?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Stalls (a worker died mid-job) allowed before a job fails; handlers are idempotent. */
  maxStalledCount?: number;
  /** Called after a job completed or failed for good (the clock driver's bookkeeping). */
  onFinished?: (jobId: string) => void;
}

/** One BullMQ worker per lifecycle queue, calling the processors. Created paused; run() starts them. */
export class LifecycleWorkers {
  readonly workers: Readonly<Record<LifecycleJobKind, Worker<LifecycleJobData, JobResult>>>;

  constructor(private readonly o: LifecycleWorkersOptions) {
    const make = (kind: LifecycleJobKind) => {
      const worker = new Worker<LifecycleJobData, JobResult>(
        LIFECYCLE_QUEUES[kind],
        async (job, token) => {
          if (job.attemptsMade === 0)
            o.metrics.jobStarted(
              LIFECYCLE_QUEUES[kind],
              kind,
              (o.nowMs() - Date.parse(job.data.dueAt)) / 1000,
            );
          const result = await o.handlers[kind].process(job, token);
          o.metrics.jobFinished(kind, result.outcome);
          return result;
        },
        {
          connection: o.connection,
          prefix: o.prefix,
          autorun: false,
          ...LIFECYCLE_KEEP_JOBS,
          concurrency: o.concurrency ?? 50,
          lockDuration: o.lockDurationMs ?? 30_000,
          stalledInterval: o.stalledIntervalMs ?? 30_000,
          maxStalledCount: o.maxStalledCount ?? 5,
        },
      );
      worker.on('completed', (job) => o.onFinished?.(job.id!));
      worker.on('failed', (job, error) => {
        if (!job) return;
        const refusal = error.message.startsWith(DOMAIN_REFUSAL);
        const final = refusal || job.attemptsMade >= (job.opts.attempts ?? 1);
        if (final) {
          o.metrics.jobFinished(kind, refusal ? 'refused' : 'failed');
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
    this.workers = { 'term-end': make('term-end'), purge: make('purge') };
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

  /** Waits for the jobs in hand to finish, then closes (force: do not wait). */
  async close(force = false): Promise<void> {
    await Promise.all(LIFECYCLE_JOB_KINDS.map((k) => this.workers[k].close(force)));
  }
}
