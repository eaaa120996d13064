import { mkdirSync } from 'node:fs';
import {
  type DynamicModule,
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Logger as PinoLogger } from 'pino';
import type { EventStore, KeyStore } from '@app/event-store';
import { MetricsService } from '@app/metrics';
import {
  type AppConfig,
  type Clock,
  ControlledClock,
  createLogger,
  loadConfig,
  ShutdownState,
  SystemClock,
} from '@app/platform';
import { CommandRunner } from './command-runner';
import { openEventStores } from './event-store.factory';
import { openClockStore } from './shared-state/controlled-clock-store';
import { type IdempotencyKeys, openIdempotencyKeys } from './shared-state/idempotency-keys';
import { RequestFingerprinter } from './request-fingerprint';
import {
  APP_CONFIG,
  CLOCK,
  EVENT_STORE,
  IDEMPOTENCY_KEYS,
  KEY_STORE,
  LOGGER,
  RAW_EVENT_STORE,
  SEALED_EVENT_STORE,
} from './tokens';

export interface InfrastructureOptions {
  /** Default: loadConfig(process.env). Tests pass their own (temp DATA_DIR, tokens). */
  config?: AppConfig;
  /** Default: from CLOCK_MODE. */
  clock?: Clock;
  /** Default: pino from config. */
  logger?: PinoLogger;
  /** The process's shutdown state, which main.ts's signal handler begins. Default: a fresh one. */
  shutdown?: ShutdownState;
}

/**
 * CLOCK_MODE=controlled: a clock whose reading lives in the shared state (PostgreSQL with
 * READ_DB_URL, else DATA_DIR), so every process reads the same time and a restart resumes from
 * the last reading; CLOCK_START only sets the first reading of a fresh store.
 */
async function clockFor(config: AppConfig, log: EventStore): Promise<Clock> {
  if (config.clockMode !== 'controlled') return new SystemClock();
  return ControlledClock.resume(
    openClockStore(config),
    config.clockStart ?? new SystemClock().now(),
    await lastRecordedAt(log),
  );
}

/** When the log's last event was recorded (its metadata's injected-clock time), null if empty. */
async function lastRecordedAt(log: EventStore): Promise<string | null> {
  const head = await log.headPosition();
  if (head === null) return null;
  const [last] = await log.readAll({ after: head - 1n, maxCount: 1 });
  return last?.metadata.recordedAt ?? null;
}

/**
 * Everything a process needs to run commands against the log: config, clock, logger, the event
 * store (with personal-data encryption) and the key store. Global: every feature module may
 * inject these tokens.
 */
@Global()
@Module({})
export class InfrastructureModule implements OnApplicationShutdown {
  constructor(
    @Inject(RAW_EVENT_STORE) private readonly raw: EventStore,
    @Inject(KEY_STORE) private readonly keys: KeyStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(IDEMPOTENCY_KEYS) private readonly idempotencyKeys: IdempotencyKeys,
  ) {}

  static forRoot(options: InfrastructureOptions = {}): DynamicModule {
    const config = options.config ?? loadConfig(process.env);
    mkdirSync(config.dataDir, { recursive: true });
    const stores = openEventStores(config);
    const idempotencyKeys = openIdempotencyKeys(config);
    const logger = options.logger ?? createLogger(config, { name: 'subscriptions' });
    return {
      module: InfrastructureModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        options.clock
          ? { provide: CLOCK, useValue: options.clock }
          : { provide: CLOCK, useFactory: () => clockFor(config, stores.raw) },
        { provide: LOGGER, useValue: logger },
        { provide: Logger, useValue: new Logger('app') },
        // Readiness answers 503 once it has begun; the lifecycle's start-up stops waiting on Redis.
        { provide: ShutdownState, useValue: options.shutdown ?? new ShutdownState() },
        { provide: RAW_EVENT_STORE, useValue: stores.raw },
        { provide: EVENT_STORE, useValue: stores.store },
        { provide: SEALED_EVENT_STORE, useValue: stores.sealed },
        { provide: KEY_STORE, useValue: stores.keys },
        { provide: IDEMPOTENCY_KEYS, useValue: idempotencyKeys },
        {
          provide: RequestFingerprinter,
          useFactory: () => RequestFingerprinter.open(config, stores.keys),
        },
        // One Prometheus registry per process (GET /metrics); other parts report into it.
        { provide: MetricsService, useValue: new MetricsService() },
        CommandRunner,
      ],
      exports: [
        APP_CONFIG,
        CLOCK,
        LOGGER,
        Logger,
        ShutdownState,
        RAW_EVENT_STORE,
        EVENT_STORE,
        SEALED_EVENT_STORE,
        KEY_STORE,
        IDEMPOTENCY_KEYS,
        RequestFingerprinter,
        MetricsService,
        CommandRunner,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.raw.close();
    await (this.keys as { close?: () => Promise<void> | void }).close?.();
    if (this.clock instanceof ControlledClock) await this.clock.close();
    await this.idempotencyKeys.close();
  }
}
