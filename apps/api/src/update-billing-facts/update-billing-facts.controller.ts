import { Body, Controller, HttpCode, Param, Put, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiErrors, ApiIdParam } from '../docs/api-docs.decorators';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import { RESPONSES } from '../read-side/response-schemas';
import type { SubscriptionCommandResult } from '../subscription-reader';
import { UpdateBillingFactsCommand } from './update-billing-facts.command';
import { updateBillingFactsRequestSchema } from './update-billing-facts.request.dto';

@Controller('v1/subscriptions/:id/billing-facts')
export class UpdateBillingFactsController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  /** → 200 Subscription; `events` is empty when both facts were already so (D9). */
  @Put()
  @HttpCode(200)
  @RequireScope('subscriptions:write')
  @ApiTags('subscriptions')
  @ApiOperation({
    operationId: 'updateBillingFacts',
    summary: "Billing's latest facts: outstanding balance, assigned licences (D9)",
  })
  @ApiOkResponse({
    description:
      'The Subscription with the events written (BillingFactsUpdated, or none when unchanged)',
    schema: RESPONSES.subscriptionAfterCommand,
  })
  @ApiIdParam('id', 'The subscription', 'sub_7f3a9c')
  @ApiErrors({
    NOT_FOUND: 'no such subscription',
    INVALID_STATE: 'the subscription was purged',
  })
  async update(
    @Param('id') rawId: string,
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<SubscriptionCommandResult> {
    const id = this.endpoint.id(rawId);
    return this.endpoint.execute(request, caller, rawBody, {
      dto: updateBillingFactsRequestSchema,
      route: `billing-facts:${id}`,
      // A platform service (billing), like a registration; the person it names, if any.
      who: (body) => ({ actor: body.requestedBy ?? null, channel: 'system' }),
      command: (body, context) =>
        new UpdateBillingFactsCommand(
          {
            subscriptionId: id,
            outstandingBalance: body.outstandingBalance,
            assignedLicences: body.assignedLicences,
            requestedBy: body.requestedBy ?? null,
            channel: 'system',
          },
          context,
        ),
    });
  }
}
