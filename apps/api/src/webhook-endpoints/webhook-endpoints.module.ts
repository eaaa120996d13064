import { type DynamicModule, Module } from '@nestjs/common';
import { WebhooksModule, type WebhooksModuleOptions } from '@app/webhooks';
import { WebhookEndpointsController } from './webhook-endpoints.controller';

/** The webhook routes (`/v1/webhook-endpoints`), and the dispatcher where the process offers it. */
@Module({})
export class WebhookEndpointsModule {
  static forRoot(options: WebhooksModuleOptions): DynamicModule {
    return {
      module: WebhookEndpointsModule,
      imports: [WebhooksModule.forRoot(options)],
      controllers: [WebhookEndpointsController],
    };
  }
}
