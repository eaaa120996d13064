import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { APP_CONFIG, leaseBackendFor, LOGGER, RoleLease } from '@app/infrastructure';
import { MetricsService } from '@app/metrics';
import type { AppConfig } from '@app/platform';
import { ReadDb, WebhookSender } from '@app/read-models';
import { WebhookDispatcher } from './webhook-dispatcher';
import { type WebhookSettings, webhookSettingsFromEnv } from './webhook-settings';
import { WebhookStore } from './webhook-store';

export const WEBHOOK_SETTINGS = Symbol.for('app.webhooks.Settings');

export interface WebhooksModuleOptions {
  /**
   * Offer to deliver webhooks from this process (worker processes and `npm start`; never an
   * `--api-only` api). Of the processes that offer (and have WEBHOOK_DISPATCHER unset or `on`),
   * the holder of the `webhook-dispatcher` lease delivers.
   */
  dispatcher?: boolean;
  /** Default: from the environment (webhook-settings.ts). */
  settings?: Partial<WebhookSettings>;
}

@Injectable()
class WebhooksLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly lease: RoleLease | null;

  constructor(
    private readonly store: WebhookStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(WebhookDispatcher) private readonly dispatcher: WebhookDispatcher | null,
    @Optional() metrics?: MetricsService,
  ) {
    if (metrics) registerPendingMetrics(metrics, store);
    const dispatching = this.dispatcher;
    this.lease = dispatching
      ? new RoleLease({
          name: 'webhook-dispatcher',
          backend: leaseBackendFor(config),
          logger,
          onAcquired: () => dispatching.start(),
          onLost: () => dispatching.stop(),
        })
      : null;
  }

  onApplicationBootstrap(): void {
    this.lease?.start();
    this.logger.info({ dispatcher: this.lease ? 'offered' : 'off' }, 'webhooks ready');
  }

  async onModuleDestroy(): Promise<void> {
    await this.lease?.stop();
    await this.dispatcher?.stop();
  }
}

function registerPendingMetrics(metrics: MetricsService, store: WebhookStore): void {
  let summary: Promise<{ count: number; oldestCreatedAt: string | null }> | null = null;
  // One query per scrape for both gauges.
  const read = () => {
    summary ??= store.pendingSummary().finally(() => setTimeout(() => (summary = null), 0));
    return summary;
  };
  metrics.gauge({
    name: 'webhook_oldest_pending_age_seconds',
    help: 'Age of the oldest webhook delivery not yet delivered nor failed, in seconds (0: none).',
    async collect() {
      const { oldestCreatedAt } = await read();
      this.set(
        oldestCreatedAt ? Math.max(0, (Date.now() - Date.parse(oldestCreatedAt)) / 1000) : 0,
      );
    },
  });
  metrics.gauge({
    name: 'webhook_pending_deliveries',
    help: 'Webhook deliveries not yet delivered nor failed, over every endpoint.',
    async collect() {
      this.set((await read()).count);
    },
  });
}

/**
 * Webhooks (docs/webhooks.md): the endpoint and delivery store in the read database, and, where
 * offered, the dispatcher. Needs ReadModelsModule (global) for the read database.
 */
@Module({})
export class WebhooksModule {
  static forRoot(options: WebhooksModuleOptions = {}): DynamicModule {
    return {
      module: WebhooksModule,
      providers: [
        {
          provide: WEBHOOK_SETTINGS,
          useFactory: (): WebhookSettings => ({
            ...webhookSettingsFromEnv(process.env),
            ...options.settings,
          }),
        },
        {
          provide: WebhookStore,
          inject: [ReadDb, APP_CONFIG],
          useFactory: (readDb: ReadDb, config: AppConfig) =>
            new WebhookStore(readDb, config.keyEncryptionKey),
        },
        {
          provide: WebhookDispatcher,
          inject: [
            WEBHOOK_SETTINGS,
            WebhookStore,
            LOGGER,
            { token: MetricsService, optional: true },
          ],
          useFactory: (
            settings: WebhookSettings,
            store: WebhookStore,
            logger: Logger,
            metrics: MetricsService | undefined,
          ) => {
            if (!options.dispatcher || !settings.dispatcher) return null;
            const outcomes = metrics?.counter({
              name: 'webhook_deliveries_total',
              help: 'Webhook delivery attempts by outcome: delivered, retried (failed, will retry), failed (retry window over).',
              labelNames: ['outcome'],
            });
            return new WebhookDispatcher({
              store,
              sender: new WebhookSender({ timeoutMs: settings.timeoutMs }),
              settings,
              logger,
              onOutcome: (outcome) => outcomes?.inc({ outcome }),
            });
          },
        },
        WebhooksLifecycle,
      ],
      exports: [WebhookStore, WEBHOOK_SETTINGS],
    };
  }
}
