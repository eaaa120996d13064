import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { HealthModule } from '@app/health';
import { PurgeModule } from '@app/purge';
import { CancelSubscriptionController } from './cancel-subscription/cancel-subscription.controller';
import { CancelSubscriptionHandler } from './cancel-subscription/cancel-subscription.handler';
import { ErasePersonalDataController } from './erase-personal-data/erase-personal-data.controller';
import { ErasePersonalDataHandler } from './erase-personal-data/erase-personal-data.handler';
import { EndOfLifeCertificateController } from './end-of-life-certificate/end-of-life-certificate.controller';
import { OpenPurgesController } from './open-purges/open-purges.controller';
import { GetSubscriptionController } from './get-subscription/get-subscription.controller';
import { HealthController } from './health/health.controller';
import { AccountDirectory } from './account-directory';
import { ApiExceptionFilter } from './http/api-exception.filter';
import { AuthGuard } from './http/auth';
import { CommandEndpoint } from './http/command-endpoint';
import { LegalHoldController } from './legal-hold/legal-hold.controller';
import { ChangeLegalHoldHandler } from './legal-hold/legal-hold.handler';
import { ReadSideModule } from './read-side/read-side.module';
import { ReactivateSubscriptionController } from './reactivate-subscription/reactivate-subscription.controller';
import { ReactivateSubscriptionHandler } from './reactivate-subscription/reactivate-subscription.handler';
import { RegisterSubscriptionController } from './register-subscription/register-subscription.controller';
import { RegisterSubscriptionHandler } from './register-subscription/register-subscription.handler';
import { SubscriptionReader } from './subscription-reader';
import { RevokeTerminationController } from './revoke-termination/revoke-termination.controller';
import { RevokeTerminationHandler } from './revoke-termination/revoke-termination.handler';
import { TerminateSubscriptionController } from './terminate-subscription/terminate-subscription.controller';
import { TerminateSubscriptionHandler } from './terminate-subscription/terminate-subscription.handler';
import { UpdateBillingFactsController } from './update-billing-facts/update-billing-facts.controller';
import { UpdateBillingFactsHandler } from './update-billing-facts/update-billing-facts.handler';
import { WithdrawCancellationController } from './withdraw-cancellation/withdraw-cancellation.controller';
import { WithdrawCancellationHandler } from './withdraw-cancellation/withdraw-cancellation.handler';

/** The HTTP API: one folder per use case; InfrastructureModule must be imported beside it. */
@Module({
  imports: [
    CqrsModule.forRoot(),
    // Readiness checks (health/, libs/health), answered in our error shape.
    HealthModule,
    PurgeModule,
    ReadSideModule,
  ],
  controllers: [
    HealthController,
    RegisterSubscriptionController,
    CancelSubscriptionController,
    WithdrawCancellationController,
    ReactivateSubscriptionController,
    TerminateSubscriptionController,
    RevokeTerminationController,
    GetSubscriptionController,
    LegalHoldController,
    ErasePersonalDataController,
    OpenPurgesController,
    UpdateBillingFactsController,
    EndOfLifeCertificateController,
  ],
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
    SubscriptionReader,
    // The command routes' helper: parse, context, then the CommandBus to one handler per use case.
    CommandEndpoint,
    RegisterSubscriptionHandler,
    AccountDirectory,
    CancelSubscriptionHandler,
    WithdrawCancellationHandler,
    ReactivateSubscriptionHandler,
    TerminateSubscriptionHandler,
    RevokeTerminationHandler,
    ChangeLegalHoldHandler,
    ErasePersonalDataHandler,
    UpdateBillingFactsHandler,
  ],
})
export class ApiModule {}
