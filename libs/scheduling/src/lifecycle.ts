import type { Logger } from 'pino';
import { DEFAULT_PURGE_NOTICE_DAYS } from '@app/domain';
import type { CheckpointStore, EventStore } from '@app/event-store';
import { leaseBackendFor, RoleLease } from '@app/infrastructure';
import { type AppConfig, type Clock, ControlledClock } from '@app/platform';
import { Mutex } from './async-utils';
import { ClockDriver } from './clock-driver';
import { LifecycleStartError } from './errors';
import {
  type CommandRunnerPort,
  NO_PURGE_RUNNER,
  type PurgeRunnerPort,
  PurgeNoticeProcessor,
  PurgeProcessor,
  TermEndProcessor,
} from './job-processors';
import { LifecycleQueues } from './lifecycle-queues';
import { LifecycleRedis } from './lifecycle-redis';
import { LifecycleScheduler, SCHEDULER_SUBSCRIPTION } from './lifecycle-scheduler';
import {
  defaultPrefix,
  horizonOf,
  type LifecycleOptions,
  type LifecycleRole,
} from './lifecycle-settings';
import { LifecycleWorkers } from './lifecycle-workers';
import { LifecycleMetrics } from './metrics';
import type { MetricsService } from '@app/metrics';
import { type ReconcileReport, Reconciler } from './reconciler';
import { type LoadReport, ScheduleLoader } from './schedule-loader';
import { ScheduleTable } from './schedule-table';
import { StoredSchedulerProgress } from './scheduler-progress';

export interface LifecycleDeps {
  config: AppConfig;
  clock: Clock;
  logger: Logger;
  /**
   * The store streams are folded from (upcasting; in the service personal fields stay sealed, no
   * key read: what is decided here never reads one).
   */
  store: EventStore;
  /** The raw log, followed by the scheduler's catch-up subscription. */
  feed: EventStore;
  /** Runs the jobs' commands (in the service: `CommandRunner.sealed()`). */
  runner: CommandRunnerPort;
  /** The process's metrics registry (GET /metrics); default: a private one. */
  metrics?: MetricsService | null;
  /**
   * The purge process (libs/purge), which the purge job runs. The apps always bind it; without
   * one (a benchmark of the scheduler alone) a purge job fails and is retried.
   */
  purgeRunner?: PurgeRunnerPort | null;
  /**
   * Aborted when the process begins to shut down (ShutdownState): create() stops waiting for a
   * Redis that does not answer and rejects (LifecycleStartError SHUTDOWN).
   */
  shutdown?: AbortSignal;
}

/**
 * On stopProcessing, how long the Redis work in hand (a reconcile, a scheduler batch) gets to
 * finish before the connections are dropped so that its commands fail. Short: both are
 * idempotent and redone from the log by the next run, and a Redis that does not answer would
 * otherwise hold the shutdown until Kubernetes kills the pod.
 */
export const STOP_WAIT_FOR_REDIS_MS = 2000;
/**
 * When Redis answers a PING after STOP_WAIT_FOR_REDIS_MS (it works, the batch is large), how
 * much longer the work in hand gets (well within Kubernetes' grace periods of deploy/k8s).
 */
export const STOP_WAIT_IF_REDIS_ANSWERS_MS = 15_000;

export { schedulerDbPath } from './schedule-table';

/**
 * Everything of the lifecycle in one process, wired from plain parts (the Nest module wraps it;
 * benchmarks and child-process tests use it directly). create() connects; start() runs;
 * stopProcessing() then close() shut down in order: timers, scheduler, workers (the jobs in hand
 * finish), queues, Redis connections, the private redis-server last.
 */
export class Lifecycle {
  readonly role: LifecycleRole;
  readonly queues: LifecycleQueues | null;
  readonly table: ScheduleTable | null;
  readonly scheduler: LifecycleScheduler | null;
  readonly reconciler: Reconciler | null;
  readonly workers: LifecycleWorkers | null;
  readonly clockDriver: ClockDriver | null;
  /** Scheduling at scale: moves the table's jobs into Redis as they come within the horizon. */
  readonly loader: ScheduleLoader | null;
  readonly horizonMs: number;
  readonly metrics: LifecycleMetrics;
  private readonly checkpoints: CheckpointStore | null;
  private timer: NodeJS.Timeout | null = null;
  private loaderTimer: NodeJS.Timeout | null = null;
  private loading: Promise<LoadReport | null> | null = null;
  private readonly loaderIntervalMs: number;
  private readonly mutex = new Mutex();
  private reconciling: Promise<ReconcileReport | null> | null = null;
  private firstReconcile: Promise<ReconcileReport | null> = Promise.resolve(null);
  private leaseReconcile: Promise<ReconcileReport | null> | null = null;
  private readonly schedulerLease: RoleLease | null;
  private stopped = false;
  /** Aborted by stopProcessing: a reconcile waiting for the scheduler stops waiting. */
  private readonly stopping = new AbortController();

  static async create(deps: LifecycleDeps, options: LifecycleOptions = {}): Promise<Lifecycle> {
    const role = options.role ?? 'all';
    const url = options.redisUrl ?? deps.config.redisUrl;
    if (role !== 'all' && url === undefined)
      throw new LifecycleStartError(
        'REDIS_URL_REQUIRED',
        `Running the ${role} apart needs a Redis shared with the ${role === 'api' ? 'worker' : 'api'}: ` +
          'set REDIS_URL (AOF on, maxmemory-policy noeviction), or run both in one process with ' +
          '`npm start`, which starts a private redis-server when REDIS_URL is unset.',
      );
    const redis = await LifecycleRedis.open({
      url,
      dataDir: deps.config.dataDir,
      logger: deps.logger,
      forWorkers: role !== 'api',
      ...(deps.shutdown ? { signal: deps.shutdown } : {}),
    });
    let table: ScheduleTable | null = null;
    try {
      // An api opens it only to read the scheduler's checkpoint when it moves a controlled clock.
      if (role !== 'api' || deps.clock instanceof ControlledClock)
        table = await ScheduleTable.open({
          dataDir: deps.config.dataDir,
          readDbUrl: deps.config.readDbUrl,
        });
      return new Lifecycle(deps, options, role, redis, table);
    } catch (error) {
      await table?.close();
      await redis.close();
      throw error;
    }
  }

  private constructor(
    private readonly deps: LifecycleDeps,
    private readonly options: LifecycleOptions,
    role: LifecycleRole,
    readonly redis: LifecycleRedis,
    table: ScheduleTable | null,
  ) {
    this.role = role;
    ({ horizonMs: this.horizonMs, loaderIntervalMs: this.loaderIntervalMs } = horizonOf(options));
    this.metrics = new LifecycleMetrics(deps.metrics ?? undefined);
    const logger = deps.logger;
    const controlled = deps.clock instanceof ControlledClock ? deps.clock : null;
    const prefix = defaultPrefix(options);
    this.table = table;
    this.checkpoints = table?.checkpointStore() ?? null;
    this.queues =
      role !== 'api' || controlled
        ? new LifecycleQueues({
            connection: redis.connection,
            prefix,
            clock: deps.clock,
            trackDueTimes: controlled !== null,
          })
        : null;
    this.loader =
      this.queues && this.table
        ? new ScheduleLoader({
            table: this.table,
            queues: this.queues,
            clock: deps.clock,
            horizonMs: this.horizonMs,
            // A scheduler that lost the lease mid-batch may commit just below the watermark.
            overlapMs: 2 * this.loaderIntervalMs,
            logger,
            metrics: this.metrics,
            ...(controlled?.shared ? { syncClock: () => controlled.sync() } : {}),
          })
        : null;
    const loader = this.loader;
    const mutex = this.mutex;
    // The driver reads the scheduler's progress from its stored checkpoint: the scheduler may run
    // in another process (whichever worker holds its lease), and so may the workers. It loads
    // what a move brings within the horizon from the table, under the scheduler's lock when the
    // scheduler runs here.
    this.clockDriver =
      controlled && this.queues && this.checkpoints
        ? new ClockDriver({
            clock: controlled,
            queues: this.queues,
            scheduler: new StoredSchedulerProgress({
              feed: deps.feed,
              checkpoints: this.checkpoints,
              name: SCHEDULER_SUBSCRIPTION,
            }),
            logger,
            ...(loader
              ? {
                  horizon: {
                    horizonMs: this.horizonMs,
                    // Here the clock reads the drain's time: the loader's own run (which moves
                    // its watermark) where the scheduler runs, else a load that leaves it.
                    loadBefore: (limitMs: number) =>
                      mutex.run(async () =>
                        this.schedules ? (await loader.load()).loaded : loader.loadBefore(limitMs),
                      ),
                    nextDueAfter: (afterMs: number, toMs: number) =>
                      loader.nextDueAfter(afterMs, toMs),
                  },
                }
              : {}),
            ...(options.drainTimeoutMs ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
          })
        : null;
    if (role === 'api' || !this.queues || !this.table || !this.checkpoints) {
      this.scheduler = null;
      this.reconciler = null;
      this.workers = null;
      this.schedulerLease = null;
      return;
    }
    const purgeNoticeDays = this.purgeNoticeDays;
    this.scheduler = new LifecycleScheduler({
      purgeNoticeDays,
      feed: deps.feed,
      store: deps.store,
      checkpoints: this.checkpoints,
      table: this.table,
      queues: this.queues,
      mutex,
      logger,
      horizon: loader,
      ...(options.schedulerBatchSize ? { batchSize: options.schedulerBatchSize } : {}),
    });
    const scheduler = this.scheduler;
    this.metrics.readSchedulerLagFrom(() => scheduler.lag());
    this.reconciler = new Reconciler({
      table: this.table,
      queues: this.queues,
      scheduler: this.scheduler,
      mutex,
      logger,
      metrics: this.metrics,
      horizon: loader,
      ...(options.staleGraceMs !== undefined ? { staleGraceMs: options.staleGraceMs } : {}),
    });
    const driver = this.clockDriver;
    this.workers = new LifecycleWorkers({
      connection: redis.workerConnection!,
      prefix,
      logger,
      metrics: this.metrics,
      nowMs: () => deps.clock.now().toMillis(),
      ...(controlled?.shared ? { beforeJob: () => controlled.sync() } : {}),
      handlers: {
        'term-end': new TermEndProcessor(deps.runner),
        purge: new PurgeProcessor(deps.runner, deps.store, deps.purgeRunner ?? NO_PURGE_RUNNER),
        'purge-notice': new PurgeNoticeProcessor(deps.runner, purgeNoticeDays),
      },
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(options.purgeConcurrency ? { purgeConcurrency: options.purgeConcurrency } : {}),
      ...(options.lockDurationMs ? { lockDurationMs: options.lockDurationMs } : {}),
      ...(options.stalledIntervalMs ? { stalledIntervalMs: options.stalledIntervalMs } : {}),
      ...(options.maxStalledCount ? { maxStalledCount: options.maxStalledCount } : {}),
      ...(driver
        ? {
            onFinished: (jobId: string) => void driver.forget(jobId).catch(() => undefined),
          }
        : {}),
    });
    this.schedulerLease = this.runsScheduler
      ? new RoleLease({
          name: 'lifecycle-scheduler',
          backend: leaseBackendFor(deps.config),
          logger,
          onAcquired: () => this.startScheduling(),
          onLost: () => this.stopScheduling(),
        })
      : null;
  }

  /** Starts the scheduler, the workers, the clock driver and the reconciler (now and periodically). */
  start(): void {
    this.clockDriver?.attach();
    if (this.role === 'api') return;
    this.workers!.run();
    // The scheduler, the reconciler and the loader run in one process at a time: the holder of the
    // `lifecycle-scheduler` lease (a worker with LIFECYCLE_SCHEDULER=off never asks for it).
    if (!this.schedulerLease) return;
    this.schedulerLease.start();
    this.firstReconcile = this.schedulerLease.settled().then(() => this.leaseReconcile);
  }

  /**
   * The start-up reconciliation: the one this process ran on taking the scheduler's lease, or
   * null when another process holds it (or none ran).
   */
  initialReconcile(): Promise<ReconcileReport | null> {
    return this.firstReconcile;
  }

  /**
   * Whether this process holds the scheduler's lease (runs the scheduler, the reconciler and the
   * loader now).
   */
  get schedules(): boolean {
    return this.schedulerLease?.holding ?? false;
  }

  private startScheduling(): void {
    if (this.stopped) return;
    this.scheduler!.start();
    if (this.options.reconcileOnStart ?? true) this.leaseReconcile ??= this.reconcileNow();
    const every = this.options.reconcileIntervalMs ?? this.deps.config.reconcileIntervalMs;
    this.timer = setInterval(() => void this.reconcileNow(), every);
    this.timer.unref();
    // The loader shares the lease and the lock: it never reads the table between a batch's
    // Redis writes and its rows.
    void this.loadNow();
    this.loaderTimer = setInterval(() => void this.loadNow(), this.loaderIntervalMs);
    this.loaderTimer.unref();
  }

  /** The lease is lost or released: stop following the log; the new holder carries on. */
  private async stopScheduling(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.loaderTimer) clearInterval(this.loaderTimer);
    this.timer = null;
    this.loaderTimer = null;
    await this.reconciling;
    await this.loading;
    await this.scheduler?.stop();
  }

  /** D7: the purge-notice offsets in days: the options', else PURGE_NOTICE_DAYS, else 30 and 7. */
  get purgeNoticeDays(): readonly number[] {
    return (
      this.options.purgeNoticeDays ?? this.deps.config.purgeNoticeDays ?? DEFAULT_PURGE_NOTICE_DAYS
    );
  }

  /** Whether this process follows the log (scheduler and reconciler), not only runs jobs. */
  get runsScheduler(): boolean {
    return this.role === 'all' || (this.role === 'worker' && this.options.scheduler !== false);
  }

  /** Runs the reconciler now (joins a run in progress). Failures are logged, not thrown. */
  reconcileNow(): Promise<ReconcileReport | null> {
    if (!this.reconciler || this.stopped || !this.schedules) return Promise.resolve(null);
    this.reconciling ??= this.reconciler
      .reconcile(this.stopping.signal)
      .catch((error: unknown) => {
        if (this.stopping.signal.aborted)
          this.deps.logger.info(
            { err: error },
            'lifecycle reconciler: cut short by the shutdown; the next start reconciles again',
          );
        else
          this.deps.logger.error(
            { err: error },
            'lifecycle reconciler failed; next run at the next interval',
          );
        return null;
      })
      .finally(() => {
        this.reconciling = null;
      });
    return this.reconciling;
  }

  /**
   * Runs the loader now (joins a run in progress): moves the table's jobs due within the horizon
   * into Redis. Failures are logged, not thrown; the next interval tries again.
   */
  loadNow(): Promise<LoadReport | null> {
    if (!this.loader || this.stopped || !this.schedules) return Promise.resolve(null);
    const loader = this.loader;
    this.loading ??= this.mutex
      .run(() => loader.load())
      .catch((error: unknown) => {
        this.deps.logger.error(
          { err: error },
          'lifecycle loader failed; next run at the next interval',
        );
        return null;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  /** Readiness of the Redis part. */
  redisReady(): Promise<boolean> {
    return this.redis.ping();
  }

  async schedulerLag(): Promise<bigint | null> {
    return this.scheduler ? this.scheduler.lag() : null;
  }

  /**
   * Stops taking work: timers, clock driver, then the reconcile and the scheduler (the batch in
   * hand is finished and checkpointed), then workers (jobs in hand finish). If the reconcile or
   * the batch is not done within STOP_WAIT_FOR_REDIS_MS, Redis is asked a PING: when it does not
   * answer (stopped, unreachable), or when it answers but the work is still not done after
   * STOP_WAIT_IF_REDIS_ANSWERS_MS, the queues' connection is dropped: their commands fail, the
   * reconcile ends, and the scheduler saves no checkpoint for the batch (it never does before the
   * batch's jobs are in Redis), so the next start delivers it again. The workers' own
   * connection is kept: jobs in hand complete (their close has a grace of its own).
   */
  async stopProcessing(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopping.abort();
    if (this.timer) clearInterval(this.timer);
    if (this.loaderTimer) clearInterval(this.loaderTimer);
    this.clockDriver?.dispose();
    const inHand = Promise.all([this.reconciling, this.loading, this.scheduler?.stop()]);
    if (
      !(await settlesWithin(inHand, STOP_WAIT_FOR_REDIS_MS)) &&
      !(
        (await this.redis.answersOnAFreshConnection()) &&
        (await settlesWithin(inHand, STOP_WAIT_IF_REDIS_ANSWERS_MS))
      )
    ) {
      this.deps.logger.warn(
        { waitedMs: STOP_WAIT_FOR_REDIS_MS },
        'lifecycle stopping: the reconcile or scheduler batch in hand is not done (Redis not ' +
          'answering, or too slow); dropping the queue connection (nothing is checkpointed past ' +
          'jobs not written; the workers keep theirs)',
      );
      this.redis.disconnectQueues();
      await inHand;
    }
    // Released once the batch in hand is checkpointed (or given up): a successor starts after it.
    await this.schedulerLease?.stop();
    await this.workers?.close();
  }

  /** Closes queues, the schedule table, Redis connections and the private redis-server. */
  async close(): Promise<void> {
    await this.stopProcessing();
    await this.queues?.close();
    await this.checkpoints?.close();
    await this.table?.close();
    await this.redis.close();
    this.deps.logger.info({ role: this.role }, 'lifecycle stopped');
  }
}

/** True if `work` settles within `ms` (it keeps running either way). */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
