import { Module } from '@nestjs/common';
import { ReadModelsModule } from '@app/read-models';
import { AccountConfirmationsController } from '../account-confirmations/account-confirmations.controller';
import { AuditEventsController } from '../audit-events/audit-events.controller';
import { AuditPurgesController } from '../audit-purges/audit-purges.controller';
import { ReceiptKeysController } from '../audit-purges/receipt-keys.controller';
import { DocsController } from '../docs/docs.controller';
import { OpenApiDocument } from '../docs/openapi-document';
import { IntegrationEventFeed } from '../list-integration-events/integration-events.feed';
import { ListIntegrationEventsController } from '../list-integration-events/list-integration-events.controller';
import { ListAccountSubscriptionsController } from '../list-account-subscriptions/list-account-subscriptions.controller';
import { MetricsController } from '../metrics/metrics.controller';
import { HttpObservability } from '../observability/http-observability';
import { ReadConsistency } from './read-consistency';

/**
 * The read side of the HTTP API (queries over the read models, audit, the integration-event
 * feed), and what every route
 * shares: request logging and HTTP metrics, GET /metrics, the OpenAPI document at /docs.
 * Brings the read models (ReadModelsModule is global: the purge's scrubber binds to it too).
 */
@Module({
  imports: [ReadModelsModule.forRoot()],
  controllers: [
    ListAccountSubscriptionsController,
    AccountConfirmationsController,
    AuditEventsController,
    AuditPurgesController,
    ListIntegrationEventsController,
    ReceiptKeysController,
    MetricsController,
    DocsController,
  ],
  providers: [ReadConsistency, IntegrationEventFeed, HttpObservability, OpenApiDocument],
})
export class ReadSideModule {}
