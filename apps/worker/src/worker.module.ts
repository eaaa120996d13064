import { type DynamicModule, Module } from '@nestjs/common';
import { HealthModule } from '@app/health';
import { InfrastructureModule, type InfrastructureOptions } from '@app/infrastructure';
import { PurgeModule } from '@app/purge';
import { ReadModelsModule } from '@app/read-models';
import { LifecycleModule, type LifecycleOptions } from '@app/scheduling';
import { WebhooksModule, type WebhooksModuleOptions } from '@app/webhooks';
import {
  WORKER_HEALTH_OPTIONS,
  type WorkerHealthOptions,
  WorkerHealthServer,
} from './health/worker-health.server';

export interface WorkerOptions extends InfrastructureOptions {
  lifecycle?: Omit<LifecycleOptions, 'role'>;
  /**
   * Run the read-model projector here (worker main: READ_MODEL_PROJECTOR=on, explicitly). Off by
   * default: the API process projects unless it runs with READ_MODEL_PROJECTOR=off, which leaves
   * its event loop to requests and moves the projection next to the scheduler.
   */
  projector?: boolean;
  /**
   * The health and metrics port (worker main: WORKER_HEALTH_PORT unless `off`). Absent: none.
   * Only the standalone worker has one: with `npm start` the api's port serves those routes.
   */
  health?: WorkerHealthOptions;
  /** Webhooks: every worker offers to deliver them (the `webhook-dispatcher` lease) by default. */
  webhooks?: WebhooksModuleOptions;
}

/**
 * The worker process: infrastructure (config, clock, stores) + the lifecycle in role `worker`:
 * the scheduler following the log, the reconciler, and the BullMQ processors (term end, purge);
 * the webhook dispatcher when it holds its lease;
 * with `health`, a small HTTP port for probes and Prometheus.
 * Several replicas may run against one Redis: job ids are deterministic, processors idempotent.
 */
@Module({})
export class WorkerModule {
  static forRoot(options: WorkerOptions = {}): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        InfrastructureModule.forRoot(options),
        LifecycleModule.forRoot({ ...options.lifecycle, role: 'worker' }),
        // The purge job runs the purge process (data holders, key shredding, read-model scrub);
        // the read models are here for the scrub, and for the projector when asked for.
        ReadModelsModule.forRoot({ projector: options.projector ?? false }),
        PurgeModule,
        // Webhook deliveries, by the holder of the webhook-dispatcher lease (WEBHOOK_DISPATCHER=off
        // opts a worker out), on a loop of their own beside the BullMQ workers.
        WebhooksModule.forRoot({ dispatcher: true, ...options.webhooks }),
        ...(options.health ? [HealthModule] : []),
      ],
      providers: options.health
        ? [{ provide: WORKER_HEALTH_OPTIONS, useValue: options.health }, WorkerHealthServer]
        : [],
    };
  }
}
