import { type DynamicModule, Module } from '@nestjs/common';
import { InfrastructureModule, type InfrastructureOptions } from '@app/infrastructure';
import { LifecycleModule, type LifecycleOptions } from '@app/scheduling';
import type { WebhooksModuleOptions } from '@app/webhooks';
import { ApiModule } from './api.module';
import { OpsClockModule } from './ops-clock/ops-clock.module';
import { OpsRoutesModule } from './ops-routes/ops-routes.module';
import { WebhookEndpointsModule } from './webhook-endpoints/webhook-endpoints.module';

export interface AppOptions extends InfrastructureOptions {
  /**
   * The lifecycle (Redis, scheduler, workers, reconciler; libs/scheduling). main.ts passes it
   * (role `all` for `npm start`, `api` for `npm run start:api`); without it the app has no Redis
   * and runs no jobs (the default of test/support/app-harness).
   */
  lifecycle?: LifecycleOptions;
  /**
   * Webhooks: the routes always; the dispatcher (offered for the `webhook-dispatcher` lease) by
   * default where the lifecycle runs in role `all` (`npm start`), never with `--api-only`.
   */
  webhooks?: WebhooksModuleOptions;
}

/** The API process: infrastructure (config, clock, stores) + the HTTP API (+ the lifecycle). */
@Module({})
export class AppModule {
  static forRoot(options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        InfrastructureModule.forRoot(options),
        ApiModule,
        OpsClockModule,
        OpsRoutesModule,
        WebhookEndpointsModule.forRoot({
          ...options.webhooks,
          dispatcher: options.webhooks?.dispatcher ?? options.lifecycle?.role === 'all',
        }),
        ...(options.lifecycle ? [LifecycleModule.forRoot(options.lifecycle)] : []),
      ],
    };
  }
}
