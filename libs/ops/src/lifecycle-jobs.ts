import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { EventStore } from '@app/event-store';
import {
  type AppConfig,
  createRedisConnection,
  describeRedisUrl,
  type PrivateRedis,
  startPrivateRedis,
  SystemClock,
} from '@app/platform';
import {
  DEFAULT_QUEUE_PREFIX,
  type DesiredJob,
  DOMAIN_REFUSAL,
  horizonOf,
  jobsNotCalledFor,
  kindOfJobId,
  LIFECYCLE_JOB_KINDS,
  LifecycleMetrics,
  lifecycleOptionsFromEnv,
  LifecycleQueues,
  loaderWatermarkKey,
  PENDING_STATES,
  type ReconcileReport,
  Reconciler,
  SCHEDULER_SUBSCRIPTION,
  ScheduleTable,
  schedulerDbPath,
} from '@app/scheduling';

export interface JobView {
  id: string;
  kind: string;
  state: string;
  subscriptionId: string | null;
  accountId: string | null;
  dueAt: string | null;
  attemptsMade: number;
  failedReason: string | null;
  createdAt: string;
}

export interface ReconcilePlan {
  /** False when the scheduler's table has not caught up with the log (nothing is removed then). */
  caughtUp: boolean;
  schedulerPosition: string | null;
  logHead: string | null;
  desired: number;
  present: number;
  /** Desired, absent from Redis: would be (re)created. */
  missing: string[];
  /** In Redis, not called for by the log, not running, older than the grace: would be removed. */
  stale: string[];
  /**
   * In Redis, not called for by the log, but added less than STALE_GRACE_MS ago: left alone (a
   * running scheduler may have added it for an event this table does not show yet).
   */
  recent: string[];
  /** Desired jobs in the failed set after an infrastructure error: would be retried. */
  retry: string[];
  /** Desired jobs failed by a domain refusal: left visible for an operator. */
  refused: string[];
}

export class JobNotFoundError extends Error {
  constructor(readonly jobId: string) {
    super(`No lifecycle job ${jobId}.`);
    this.name = 'JobNotFoundError';
  }
}

export class JobNotRetryableError extends Error {
  constructor(
    readonly jobId: string,
    readonly state: string,
  ) {
    super(`Job ${jobId} is ${state}: only failed jobs are retried and delayed ones promoted.`);
    this.name = 'JobNotRetryableError';
  }
}

import { type LifecycleJobAction, recordJobAction } from './operator-actions';
/** A job the log does not call for is removed only once older than this (reconciler default). */
export const STALE_GRACE_MS = 60_000;

/** How long the job commands wait for Redis to answer before giving up (exit 1, not a hang). */
export const REDIS_ANSWER_TIMEOUT_MS = 5_000;

/**
 * The lifecycle queues as an operator sees them: list, retry, reconcile on demand. With REDIS_URL
 * unset it starts the private redis-server on DATA_DIR/redis (the service's AOF), which is only
 * right while the service is stopped: point REDIS_URL at the running service's Redis otherwise.
 * With CLOCK_MODE=controlled (tests, staging) the jobs it recreates also go into the due index
 * the clock driver promotes from, as the service's own reconciler does.
 */
export class LifecycleJobsAdmin {
  private constructor(
    private readonly config: AppConfig,
    private readonly connection: Redis,
    private readonly server: PrivateRedis | null,
    readonly queues: LifecycleQueues,
  ) {}

  static async open(
    config: AppConfig,
    options: { prefix?: string; redisUrl?: string; answerTimeoutMs?: number } = {},
  ): Promise<LifecycleJobsAdmin> {
    let server: PrivateRedis | null = null;
    let url = options.redisUrl ?? config.redisUrl;
    if (url === undefined) {
      server = await startPrivateRedis({
        dataDir: join(config.dataDir, 'redis'),
        persistence: 'aof',
      });
      url = server.url;
    }
    const connection = createRedisConnection(url, {
      forWorker: false,
      connectionName: 'sub-eol-ops',
    });
    const seen: { error: Error | null } = { error: null };
    connection.on('error', (error: Error) => {
      seen.error = error;
    });
    // BullMQ waits for a connection without a bound: an unreachable REDIS_URL would hang the
    // command forever (and print a stack per reconnect). One bounded PING first.
    const timeoutMs = options.answerTimeoutMs ?? REDIS_ANSWER_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        connection.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        }),
      ]);
    } catch (error) {
      connection.disconnect();
      await server?.stop();
      const cause = seen.error ?? (error instanceof Error ? error : null);
      throw new Error(
        `Redis at ${describeRedisUrl(url)} did not answer within ${timeoutMs} ms` +
          `${cause && cause.message !== 'timeout' ? ` (${cause.message})` : ''}: check REDIS_URL.`,
      );
    } finally {
      clearTimeout(timer);
    }
    const queues = new LifecycleQueues({
      connection,
      prefix: options.prefix ?? process.env['LIFECYCLE_QUEUE_PREFIX'] ?? DEFAULT_QUEUE_PREFIX,
      clock: new SystemClock(),
      trackDueTimes: config.clockMode === 'controlled',
    });
    // Connection errors surface as failed commands; without a listener BullMQ prints each one.
    for (const kind of LIFECYCLE_JOB_KINDS) queues.queue(kind).on('error', () => undefined);
    return new LifecycleJobsAdmin(config, connection, server, queues);
  }

  async list(states: readonly JobType[]): Promise<JobView[]> {
    const out: JobView[] = [];
    for (const kind of LIFECYCLE_JOB_KINDS) {
      const queue = this.queues.queue(kind);
      for (const state of states) {
        const jobs = await queue.getJobs([state], 0, -1, true);
        for (const job of jobs) {
          if (!job?.id) continue;
          out.push({
            id: job.id,
            kind,
            state,
            subscriptionId: job.data?.subscriptionId ?? null,
            accountId: job.data?.accountId ?? null,
            dueAt: job.data?.dueAt ?? null,
            attemptsMade: job.attemptsMade,
            failedReason: job.failedReason || null,
            createdAt: new Date(job.timestamp).toISOString(),
          });
        }
      }
    }
    return out.sort(
      (a, b) => (a.dueAt ?? '').localeCompare(b.dueAt ?? '') || a.id.localeCompare(b.id),
    );
  }

  /** A failed job gets a new series of attempts; a delayed one runs now. */
  /** Retries a failed job or promotes a delayed one, and records who did it in the log. */
  async retry(
    jobId: string,
    audit: { log: EventStore; operator: string; at: Date },
  ): Promise<LifecycleJobAction> {
    const kind = kindOfJobId(jobId);
    const job = await this.queues.queue(kind).getJob(jobId);
    if (!job) throw new JobNotFoundError(jobId);
    const state = await job.getState();
    if (state !== 'failed' && state !== 'delayed') throw new JobNotRetryableError(jobId, state);
    const done: LifecycleJobAction = {
      jobId,
      kind,
      subscriptionId: typeof job.data?.subscriptionId === 'string' ? job.data.subscriptionId : null,
      from: state,
      action: state === 'failed' ? 'retried' : 'promoted',
    };
    // Recorded first: an action the log does not show must not happen.
    await recordJobAction(audit.log, done, audit.operator, audit.at);
    if (state === 'failed') await job.retry('failed', { resetAttemptsMade: true });
    else await job.promote();
    return done;
  }

  /**
   * What the reconciler would change (dryRun) or the reconciler itself (the same class the worker
   * runs), against the scheduler's table: in PostgreSQL with READ_DB_URL, else in
   * DATA_DIR/scheduler.sqlite.
   */
  async reconcile(
    log: EventStore,
    logger: Logger,
    dryRun: boolean,
  ): Promise<{ plan: ReconcilePlan; applied: ReconcileReport | null }> {
    const file = schedulerDbPath(this.config.dataDir);
    if (!this.config.readDbUrl && !existsSync(file))
      throw new Error(`No scheduler table at ${file}: the worker has not run on this DATA_DIR.`);
    const table = await ScheduleTable.open({
      dataDir: this.config.dataDir,
      readDbUrl: this.config.readDbUrl,
      poolSize: 2,
    });
    try {
      const [position, head] = [
        await table.checkpointStore().load(SCHEDULER_SUBSCRIPTION),
        await log.headPosition(),
      ];
      const caughtUp = head === null || (position !== null && position >= head);
      // As the service's reconciler: only the jobs due within the horizon belong in Redis.
      const horizon = { limitMs: () => this.horizonLimitMs() };
      const desired: DesiredJob[] = [];
      for await (const page of table.jobsDue(null, await horizon.limitMs())) desired.push(...page);
      const plan = await this.plan(desired, caughtUp, table);
      plan.schedulerPosition = position?.toString() ?? null;
      plan.logHead = head?.toString() ?? null;
      if (dryRun) return { plan, applied: null };
      const reconciler = new Reconciler({
        table,
        queues: this.queues,
        scheduler: { waitCaughtUp: async () => caughtUp } as never,
        mutex: { run: <T>(fn: () => Promise<T>) => fn() } as never,
        logger,
        metrics: new LifecycleMetrics(),
        staleGraceMs: STALE_GRACE_MS,
        horizon,
      });
      return { plan, applied: await reconciler.reconcile() };
    } finally {
      await table.close();
    }
  }

  /**
   * Now + LIFECYCLE_HORIZON_HOURS on the real clock, or the loader's watermark in Redis when the
   * service has loaded further (a controlled clock moved ahead, a longer horizon).
   */
  private async horizonLimitMs(): Promise<number> {
    const { horizonMs } = horizonOf(lifecycleOptionsFromEnv(process.env));
    const stored = Number(await this.connection.get(loaderWatermarkKey(this.queues.prefix)));
    const limit = new SystemClock().now().toMillis() + horizonMs;
    return Number.isFinite(stored) && stored > limit ? stored : limit;
  }

  private async plan(
    desired: readonly DesiredJob[],
    caughtUp: boolean,
    table: ScheduleTable,
  ): Promise<ReconcilePlan> {
    const wanted = new Set(desired.map((j) => j.jobId));
    const present = new Set<string>();
    const failed = new Set<string>();
    const outside: { jobId: string }[] = [];
    for (const kind of LIFECYCLE_JOB_KINDS) {
      const active = new Set(await this.queues.jobIds(kind, ['active']));
      for (const id of await this.queues.jobIds(kind, PENDING_STATES)) {
        present.add(id);
        if (!wanted.has(id) && !active.has(id)) outside.push({ jobId: id });
      }
      for (const id of await this.queues.jobIds(kind, ['failed'])) failed.add(id);
    }
    // As the reconciler: a job beyond the horizon that the table still calls for stays.
    const stale = caughtUp ? (await jobsNotCalledFor(table, outside)).map((r) => r.jobId) : [];
    // What the reconciler will remove: only jobs older than the grace (see STALE_GRACE_MS).
    const old: string[] = [];
    const recent: string[] = [];
    for (const id of stale) {
      const job = await this.queues.queue(kindOfJobId(id)).getJob(id);
      if (!job) continue;
      (Date.now() - job.timestamp >= STALE_GRACE_MS ? old : recent).push(id);
    }
    const retry: string[] = [];
    const refused: string[] = [];
    for (const j of desired.filter((d) => failed.has(d.jobId))) {
      const job = await this.queues.queue(j.kind).getJob(j.jobId);
      if (!job) continue;
      if ((job.failedReason ?? '').startsWith(DOMAIN_REFUSAL)) refused.push(j.jobId);
      else retry.push(j.jobId);
    }
    return {
      caughtUp,
      schedulerPosition: null,
      logHead: null,
      desired: desired.length,
      present: desired.filter((j) => present.has(j.jobId)).length,
      missing: desired
        .filter((j) => !present.has(j.jobId) && !failed.has(j.jobId))
        .map((j) => j.jobId),
      stale: caughtUp ? old : [],
      recent: caughtUp ? recent : [],
      retry,
      refused,
    };
  }

  async close(): Promise<void> {
    await this.queues.close();
    this.connection.disconnect();
    await this.server?.stop();
  }
}
