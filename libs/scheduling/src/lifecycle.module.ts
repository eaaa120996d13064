import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Logger } from 'pino';
import type { EventStore } from '@app/event-store';
import {
  APP_CONFIG,
  CLOCK,
  CommandRunner,
  LOGGER,
  RAW_EVENT_STORE,
  SEALED_EVENT_STORE,
} from '@app/infrastructure';
import { MetricsService } from '@app/metrics';
import { type AppConfig, type Clock, ShutdownState } from '@app/platform';
import { PURGE_RUNNER, type PurgeRunnerPort } from './job-processors';
import { Lifecycle } from './lifecycle';
import type { LifecycleOptions } from './lifecycle-settings';

export const LIFECYCLE_OPTIONS = Symbol.for('app.scheduling.LifecycleOptions');
/** The purge process's port for removing a subscription's pending jobs (libs/purge). */
export const LIFECYCLE_JOB_REMOVER = Symbol.for('app.purge.LifecycleJobRemover');

/**
 * Runs the lifecycle (Redis, scheduler, reconciler, workers, controlled-clock driver) inside a
 * Nest application: connects in onModuleInit, starts once the app is bootstrapped, stops taking
 * work before shutdown (the event store is still open then) and closes Redis last.
 */
@Injectable()
export class LifecycleService
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private current: Lifecycle | null = null;

  constructor(
    @Inject(LIFECYCLE_OPTIONS) private readonly options: LifecycleOptions,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SEALED_EVENT_STORE) private readonly store: EventStore,
    @Inject(RAW_EVENT_STORE) private readonly feed: EventStore,
    private readonly runner: CommandRunner,
    private readonly moduleRef: ModuleRef,
    @Optional() private readonly metrics?: MetricsService,
    // InfrastructureModule provides it: a SIGTERM during start-up stops the wait for Redis.
    @Optional() private readonly shutdown?: ShutdownState,
  ) {}

  async onModuleInit(): Promise<void> {
    let purgeRunner: PurgeRunnerPort | null = null;
    try {
      purgeRunner = this.moduleRef.get<PurgeRunnerPort>(PURGE_RUNNER, { strict: false });
    } catch {
      purgeRunner = null; // none bound (the apps always bind one): a purge job fails, retried
    }
    this.current = await Lifecycle.create(
      {
        config: this.config,
        clock: this.clock,
        logger: this.logger,
        store: this.store,
        feed: this.feed,
        runner: this.runner.sealed(),
        metrics: this.metrics ?? null,
        purgeRunner,
        ...(this.shutdown ? { shutdown: this.shutdown.signal } : {}),
      },
      this.options,
    );
  }

  onApplicationBootstrap(): void {
    this.lifecycle.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.current?.stopProcessing();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.current?.close();
    this.current = null;
  }

  get lifecycle(): Lifecycle {
    if (!this.current) throw new Error('The lifecycle is not started (onModuleInit has not run).');
    return this.current;
  }

  /** LIFECYCLE_JOB_REMOVER: removes every pending job of a subscription (after its purge). */
  async removeJobsOf(subscriptionId: string): Promise<number> {
    const l = this.lifecycle;
    const row = await l.table?.get(subscriptionId);
    if (!l.queues || !row) return 0;
    return l.queues.unschedule(row.jobs.map((j) => ({ kind: j.kind, jobId: j.jobId })));
  }
}

/**
 * The lifecycle part of an app. Global, so the health check, the ops clock routes and the purge
 * process can inject LifecycleService / LIFECYCLE_JOB_REMOVER. Needs InfrastructureModule.
 */
@Global()
@Module({})
export class LifecycleModule {
  static forRoot(options: LifecycleOptions = {}): DynamicModule {
    return {
      module: LifecycleModule,
      providers: [
        { provide: LIFECYCLE_OPTIONS, useValue: options },
        LifecycleService,
        { provide: LIFECYCLE_JOB_REMOVER, useExisting: LifecycleService },
      ],
      exports: [LifecycleService, LIFECYCLE_JOB_REMOVER],
    };
  }
}
