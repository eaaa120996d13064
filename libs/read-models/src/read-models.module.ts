import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { composeUpcasters, type EventStore, type KeyStore } from '@app/event-store';
import {
  APP_CONFIG,
  KEY_STORE,
  LOGGER,
  leaseBackendFor,
  RAW_EVENT_STORE,
  RoleLease,
  UPCASTERS,
} from '@app/infrastructure';
import { MetricsService } from '@app/metrics';
import type { AppConfig } from '@app/platform';
import { AuditReader } from './audit/audit-reader';
import { ReadDb } from './database/read-db';
import { isLockContention } from './database/lock-contention';
import {
  ConfirmationDispatcher,
  WebhookConfirmationSender,
} from './notifier/confirmation-notifier';
import { ReadModelProjector } from './projection/read-model-projector';
import { ReadStore } from './read-store';
import { openReceiptKeyring, ReceiptKeyring } from './receipts/receipt-keyring';
import { type ReadModelsSettings, readModelsSettingsFromEnv } from './read-models.settings';

/** The read-model scrubber the purge and erasure processes call (same symbol as libs/purge). */
export const READ_MODEL_SCRUBBER = Symbol.for('app.purge.ReadModelScrubber');

export interface ReadModelsModuleOptions {
  /**
   * Offer to run the projector in this process (default: READ_MODEL_PROJECTOR, on unless
   * "off"). Of the processes that offer, the one holding the `read-model-projector` lease runs
   * it, and another takes over within seconds when that one dies (RoleLease).
   */
  projector?: boolean;
  /** Default: from the environment (see read-models.settings.ts). */
  settings?: Partial<ReadModelsSettings>;
}

const SETTINGS = Symbol.for('app.read-models.Settings');

@Injectable()
class ReadModelsLifecycle
  implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown
{
  private readonly lease: RoleLease;
  /** Confirmation webhooks go out from one process at a time, like the projection. */
  private readonly dispatcherLease: RoleLease | null;

  constructor(
    private readonly projector: ReadModelProjector,
    private readonly store: ReadStore,
    @Inject(SETTINGS) private readonly settings: ReadModelsSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(APP_CONFIG) config: AppConfig,
    // By token: the metadata of a union type (`… | null`) is Object under SWC, which would
    // inject nothing and never start the sender.
    @Optional()
    @Inject(ConfirmationDispatcher)
    private readonly dispatcher: ConfirmationDispatcher | null,
    @Optional() metrics?: MetricsService,
  ) {
    if (metrics) registerProjectionMetrics(metrics, projector);
    this.lease = new RoleLease({
      name: 'read-model-projector',
      backend: leaseBackendFor(config),
      logger,
      onAcquired: () => projector.start(),
      onLost: () => projector.stop(),
    });
    const sender = this.dispatcher;
    this.dispatcherLease = sender
      ? new RoleLease({
          name: 'confirmation-dispatcher',
          backend: leaseBackendFor(config),
          logger,
          onAcquired: () => sender.start(),
          onLost: () => sender.stop(),
        })
      : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.settings.projector) {
      this.lease.start();
      await this.lease.settled();
    }
    this.dispatcherLease?.start();
    this.logger.info(
      {
        readStore: this.store.readDb.location,
        dialect: this.store.readDb.dialect,
        generation: this.store.readDb.generation,
        projector: this.settings.projector ? (this.lease.holding ? 'running' : 'standby') : 'off',
        notifier: this.settings.webhookUrl ? 'webhook' : 'outbox',
      },
      'read models ready',
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.dispatcherLease?.stop();
    await this.dispatcher?.stop();
    await this.lease.stop();
    await this.projector.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

function registerProjectionMetrics(metrics: MetricsService, projector: ReadModelProjector): void {
  metrics.gauge({
    name: 'read_model_lag_positions',
    help: 'Head of the event log minus the read models checkpoint (0 = caught up; on SQLite about the number of events behind).',
    async collect() {
      this.set(Number(await projector.lag()));
    },
  });
  metrics.gauge({
    name: 'read_model_checkpoint_position',
    help: 'Position of the last event the read models include.',
    async collect() {
      this.set(Number((await projector.position()) ?? 0n));
    },
  });
  metrics.gauge({
    name: 'read_model_seconds_since_progress',
    help: 'Seconds since the projector last completed a step (grows when it is stuck; -1 before the first step).',
    collect() {
      const at = projector.lastProgressAt;
      this.set(at ? (Date.now() - at.getTime()) / 1000 : -1);
    },
  });
  metrics.gauge({
    name: 'read_model_projection_failing',
    help: 'Consecutive failures of the projector (0 when healthy).',
    collect() {
      this.set(projector.health.consecutiveFailures);
    },
  });
}

/**
 * Read models (R16 subscription lists, audit log, purge receipts, confirmation outbox) on
 * SQLite under DATA_DIR or PostgreSQL (READ_DB_URL), fed by a checkpointed subscription to the
 * raw log. Global: the API's queries, the purge/erasure scrubbing and the worker's reconciler
 * all use the same ReadStore.
 */
@Global()
@Module({})
export class ReadModelsModule {
  static forRoot(options: ReadModelsModuleOptions = {}): DynamicModule {
    return {
      module: ReadModelsModule,
      providers: [
        {
          provide: SETTINGS,
          useFactory: (): ReadModelsSettings => {
            const settings = { ...readModelsSettingsFromEnv(process.env), ...options.settings };
            return options.projector === undefined
              ? settings
              : { ...settings, projector: options.projector };
          },
        },
        {
          provide: ReadDb,
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) =>
            ReadDb.open({ dataDir: config.dataDir, readDbUrl: config.readDbUrl }),
        },
        { provide: ReadStore, inject: [ReadDb], useFactory: (db: ReadDb) => new ReadStore(db) },
        {
          // D11: the purge receipts' signing key (RECEIPT_SIGNING_KEY, or made once).
          provide: ReceiptKeyring,
          inject: [APP_CONFIG, KEY_STORE],
          useFactory: (config: AppConfig, keys: KeyStore) => openReceiptKeyring(config, keys),
        },
        {
          provide: AuditReader,
          inject: [KEY_STORE, LOGGER],
          useFactory: (keys: KeyStore, logger: Logger) =>
            new AuditReader({
              keys,
              upcast: composeUpcasters(UPCASTERS),
              onUnreadable: (info) =>
                logger.error(info, 'audit: a personal field does not decrypt under its key'),
            }),
        },
        {
          provide: ReadModelProjector,
          inject: [RAW_EVENT_STORE, ReadDb, ReadStore, LOGGER, ReceiptKeyring],
          useFactory: (
            log: EventStore,
            readDb: ReadDb,
            readStore: ReadStore,
            logger: Logger,
            keyring: ReceiptKeyring,
          ) =>
            new ReadModelProjector({
              log,
              readDb,
              readStore,
              signer: keyring.signer,
              upcast: composeUpcasters(UPCASTERS),
              onError: (err, context) =>
                isLockContention(err)
                  ? logger.warn(
                      { err, ...context },
                      'read database locked by another writer (an ops replay switching over?); retrying',
                    )
                  : logger.error({ err, ...context }, 'read-model projection failed; retrying'),
            }),
        },
        {
          provide: ConfirmationDispatcher,
          inject: [SETTINGS, ReadStore, LOGGER],
          useFactory: (settings: ReadModelsSettings, store: ReadStore, logger: Logger) =>
            settings.webhookUrl && settings.webhookSecret
              ? new ConfirmationDispatcher({
                  store,
                  sender: new WebhookConfirmationSender({
                    url: settings.webhookUrl,
                    secret: settings.webhookSecret,
                  }),
                  intervalMs: settings.notifierIntervalMs,
                  onError: (err, eventId) =>
                    logger.warn({ err, eventId }, 'confirmation webhook failed; will retry'),
                })
              : null,
        },
        { provide: READ_MODEL_SCRUBBER, useExisting: ReadStore },
        ReadModelsLifecycle,
      ],
      exports: [
        ReadDb,
        ReadStore,
        AuditReader,
        ReceiptKeyring,
        ReadModelProjector,
        ConfirmationDispatcher,
        READ_MODEL_SCRUBBER,
        SETTINGS,
      ],
    };
  }
}

export { SETTINGS as READ_MODELS_SETTINGS };
