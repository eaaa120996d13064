import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { ReadinessService } from '@app/health';
import { LOGGER } from '@app/infrastructure';
import { MetricsService } from '@app/metrics';
import { HealthServer } from './health-server';

export const WORKER_HEALTH_OPTIONS = Symbol.for('app.worker.HealthOptions');

export interface WorkerHealthOptions {
  /** WORKER_HEALTH_PORT; 0: a free port. */
  port: number;
  /** Default 0.0.0.0 (probes and scrapers come from outside the pod). */
  host?: string;
}

/** How long shutdown waits for health and metrics requests in progress. */
const CLOSE_TIMEOUT_MS = 2000;

/**
 * The standalone worker's health and metrics port (HealthServer) inside the Nest application:
 * listens in onModuleInit, after the stores and Redis are connected and before the lifecycle
 * starts taking jobs (a port in use stops the start-up there); closes with the app, last.
 */
@Injectable()
export class WorkerHealthServer implements OnModuleInit, OnApplicationShutdown {
  private readonly server: HealthServer;

  constructor(
    @Inject(WORKER_HEALTH_OPTIONS) private readonly options: WorkerHealthOptions,
    readiness: ReadinessService,
    metrics: MetricsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.server = new HealthServer({ readiness: () => readiness.check(), metrics, logger });
  }

  /** The bound port (null before start-up and after shutdown). */
  get port(): number | null {
    return this.server.port;
  }

  async onModuleInit(): Promise<void> {
    const port = await this.server.listen(this.options.port, this.options.host);
    this.logger.info(
      { port },
      'worker health port listening (/health/live, /health/ready, /metrics)',
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server.close(CLOSE_TIMEOUT_MS);
  }
}
