import type { Counter, Gauge } from 'prom-client';
import { MetricsService } from '@app/metrics';

/**
 * The lifecycle's metrics, registered on the process's MetricsService (what GET /metrics
 * exposes): job outcomes, job lag (through the service's hook), reconciler runs and repairs,
 * scheduler lag.
 */
export class LifecycleMetrics {
  private readonly jobs: Counter<'kind' | 'outcome'>;
  private readonly reconcilerRuns: Counter<string>;
  private readonly reconcilerLastRun: Gauge<'count'>;
  private readonly loaderJobs: Counter<string>;
  /** Where the scheduler lag is read at scrape time (unset: a process that runs no scheduler). */
  private lagSource: (() => Promise<bigint>) | null = null;

  constructor(readonly service: MetricsService = new MetricsService({ defaultMetrics: false })) {
    this.jobs = service.counter({
      name: 'lifecycle_jobs_total',
      help: 'Lifecycle jobs run to an end, by kind (term-end, purge, purge-notice) and outcome (renewed, expired, purged, purge-deferred, notice-issued, replayed, early, stale, refused, failed, invalid).',
      labelNames: ['kind', 'outcome'],
    });
    this.reconcilerRuns = service.counter({
      name: 'lifecycle_reconciler_runs_total',
      help: 'Runs of the lifecycle job reconciler.',
      labelNames: [],
    });
    this.reconcilerLastRun = service.gauge({
      name: 'lifecycle_reconciler_last_run_jobs',
      help: 'Counts of the last reconciler run: desired, present, recreated, removed, failed, retried.',
      labelNames: ['count'],
    });
    this.loaderJobs = service.counter({
      name: 'lifecycle_loader_jobs_loaded_total',
      help: 'Jobs the loader moved from the schedule table into Redis as they came within the horizon.',
      labelNames: [],
    });
    const lagSource = (): (() => Promise<bigint>) | null => this.lagSource;
    service.gauge({
      name: 'lifecycle_scheduler_lag',
      help: 'Log head minus the scheduler checkpoint (0: every event has its jobs in Redis).',
      labelNames: [],
      async collect() {
        const source = lagSource();
        if (source) this.set(Number(await source()));
      },
    });
  }

  jobFinished(kind: string, outcome: string): void {
    this.jobs.inc({ kind, outcome });
  }

  jobStarted(queue: string, kind: string, lagSeconds: number): void {
    this.service.observeJobLag(queue, kind, lagSeconds);
  }

  reconciled(
    counts: Record<'desired' | 'present' | 'recreated' | 'removed' | 'failed' | 'retried', number>,
  ): void {
    this.reconcilerRuns.inc();
    for (const key of ['desired', 'present', 'recreated', 'removed', 'failed', 'retried'] as const)
      this.reconcilerLastRun.set({ count: key }, counts[key]);
    this.service.recordReconcilerRepairs('job_recreated', counts.recreated);
    this.service.recordReconcilerRepairs('job_removed', counts.removed);
    this.service.recordReconcilerRepairs('job_retried', counts.retried);
  }

  /** The loader moved `n` jobs into Redis. */
  loaded(n: number): void {
    if (n > 0) this.loaderJobs.inc(n);
  }

  /** The scheduler whose lag `lifecycle_scheduler_lag` reports when scraped. */
  readSchedulerLagFrom(source: () => Promise<bigint>): void {
    this.lagSource = source;
  }
}
