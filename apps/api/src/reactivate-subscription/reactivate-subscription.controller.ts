import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiIdParam } from '../docs/api-docs.decorators';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import { RESPONSES } from '../read-side/response-schemas';
import type { SubscriptionCommandResult } from '../subscription-reader';
import { ReactivateSubscriptionCommand } from './reactivate-subscription.command';
import { reactivateSubscriptionRequestSchema } from './reactivate-subscription.request.dto';

@ApiTags('subscriptions')
@Controller('v1/subscriptions/:id/reactivation')
export class ReactivateSubscriptionController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  /** → 200 Subscription; after the purge 409 INVALID_STATE (D2). */
  @Post()
  @ApiOperation({
    operationId: 'reactivateSubscription',
    summary: 'Reactivate an expired subscription before its purge (D2)',
  })
  @ApiOkResponse({
    description: 'The Subscription after the reactivation',
    schema: RESPONSES.subscriptionAfterCommand,
  })
  @ApiIdParam('id', 'The subscription', 'sub_7f3a9c')
  @ApiErrors({
    NOT_FOUND: 'no such subscription',
    INVALID_STATE:
      'not expired, purged or being purged, an expired trial, or terminated for fraud (D8; recorded as ReactivationRefused)',
    FORBIDDEN_ROLE: "the person's role may not reactivate it",
  })
  @HttpCode(200)
  @RequireScope('subscriptions:write')
  async reactivate(
    @Param('id') rawId: string,
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<SubscriptionCommandResult> {
    const id = this.endpoint.id(rawId);
    return this.endpoint.execute(request, caller, rawBody, {
      dto: reactivateSubscriptionRequestSchema,
      route: `reactivate:${id}`,
      who: (body) => ({ actor: body.requestedBy, channel: body.channel }),
      command: (body, context) =>
        new ReactivateSubscriptionCommand({ subscriptionId: id, ...body }, context),
    });
  }
}
