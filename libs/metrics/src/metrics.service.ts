import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

/** Latency buckets (seconds) for HTTP requests and commands: 1 ms … 10 s. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Lag buckets (seconds) for jobs that fire after their due time: 10 ms … 1 h. */
export const JOB_LAG_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];

/**
 * Outcome of one command, as a bounded label value: 'written' (events appended), 'noop' (the
 * decision wrote nothing), 'replayed' (a repeated Idempotency-Key answered from the log),
 * 'refused' (a refusal by policy was recorded, D6), or an error code (INVALID_STATE,
 * CONCURRENCY_CONFLICT, …) or 'error'.
 */
export type CommandOutcome = string;

export interface MetricsServiceOptions {
  /** Collect Node process metrics (heap, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
  /** Prefix of every metric name. Default 'subscriptions_'. */
  prefix?: string;
}

/**
 * The process's Prometheus registry and the metrics every part reports into. One instance per
 * process (the infrastructure module provides it), never prom-client's global registry, so
 * several apps in one test process do not collide.
 *
 * Hooks for other parts (scheduler, purge, reconciler) are plain methods: inject MetricsService
 * and call them. Anything else: `counter()`, `gauge()`, `histogram()` register (once) a metric of
 * your own under the same prefix; a gauge may take a `collect` callback evaluated at scrape time.
 */
export class MetricsService {
  readonly registry = new Registry();
  readonly prefix: string;

  private readonly commands: Counter<'type' | 'outcome'>;
  private readonly commandSeconds: Histogram<'type' | 'outcome'>;
  private readonly httpSeconds: Histogram<'method' | 'route' | 'status_code'>;
  private readonly jobLagSeconds: Histogram<'queue' | 'job'>;
  private readonly purges: Counter<'outcome'>;
  private readonly purgeVerificationFailures: Counter<'holder' | 'reason'>;
  private readonly reconcilerRepairs: Counter<'kind'>;

  constructor(options: MetricsServiceOptions = {}) {
    this.prefix = options.prefix ?? 'subscriptions_';
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: this.prefix });
    this.commands = this.counter({
      name: 'commands_total',
      help: 'Commands handled, by command type and outcome (written, noop, replayed, refused, or an error code).',
      labelNames: ['type', 'outcome'],
    });
    this.commandSeconds = this.histogram({
      name: 'command_duration_seconds',
      help: 'Time to handle a command (read, fold, decide, append), by type and outcome.',
      labelNames: ['type', 'outcome'],
      buckets: LATENCY_BUCKETS,
    });
    this.httpSeconds = this.histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS,
    });
    this.jobLagSeconds = this.histogram({
      name: 'job_lag_seconds',
      help: 'How late a scheduled job started after its due time, by queue and job name.',
      labelNames: ['queue', 'job'],
      buckets: JOB_LAG_BUCKETS,
    });
    this.purges = this.counter({
      name: 'purges_total',
      help: 'Product-data purges by outcome (completed, deferred, failed, …).',
      labelNames: ['outcome'],
    });
    this.purgeVerificationFailures = this.counter({
      name: 'purge_verification_failures_total',
      help: 'D11: a data holder, asked after deleting, still found data of the subscription (reason="data_remains") or did not answer (reason="no_answer"); the purge stays open. Counted per attempt.',
      labelNames: ['holder', 'reason'],
    });
    this.reconcilerRepairs = this.counter({
      name: 'reconciler_repairs_total',
      help: 'Jobs the reconciler recreated or removed to match the log, by kind.',
      labelNames: ['kind'],
    });
  }

  /** Prometheus text exposition of every metric. */
  async scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  recordCommand(type: string, outcome: CommandOutcome, seconds: number): void {
    this.commands.inc({ type, outcome });
    this.commandSeconds.observe({ type, outcome }, seconds);
  }

  recordHttpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpSeconds.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  /** Scheduler hook: a job due at `dueAt` started at `startedAt`. */
  observeJobLag(queue: string, job: string, lagSeconds: number): void {
    this.jobLagSeconds.observe({ queue, job }, Math.max(0, lagSeconds));
  }

  /** Purge hook: one purge reached `outcome`. */
  recordPurge(outcome: string): void {
    this.purges.inc({ outcome });
  }

  /** D11 purge hook: `holder` still found data, or did not answer, when asked to verify. */
  recordPurgeVerificationFailure(holder: string, reason: 'data_remains' | 'no_answer'): void {
    this.purgeVerificationFailures.inc({ holder, reason });
  }

  /** Reconciler hook: `count` repairs of one kind (e.g. 'job_recreated', 'job_removed'). */
  recordReconcilerRepairs(kind: string, count = 1): void {
    if (count > 0) this.reconcilerRepairs.inc({ kind }, count);
  }

  /** Registers a counter under the prefix, or returns the one already registered by that name. */
  counter<L extends string>(config: CounterConfiguration<L>): Counter<L> {
    return this.existing<Counter<L>>(config.name) ?? new Counter({ ...this.named(config) });
  }

  gauge<L extends string>(config: GaugeConfiguration<L>): Gauge<L> {
    return this.existing<Gauge<L>>(config.name) ?? new Gauge({ ...this.named(config) });
  }

  histogram<L extends string>(config: HistogramConfiguration<L>): Histogram<L> {
    return this.existing<Histogram<L>>(config.name) ?? new Histogram({ ...this.named(config) });
  }

  private named<C extends { name: string }>(config: C): C & { registers: Registry[] } {
    return { ...config, name: this.prefix + config.name, registers: [this.registry] };
  }

  private existing<M>(name: string): M | undefined {
    return this.registry.getSingleMetric(this.prefix + name) as M | undefined;
  }
}
