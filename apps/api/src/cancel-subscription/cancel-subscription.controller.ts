import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiIdParam } from '../docs/api-docs.decorators';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import { RESPONSES } from '../read-side/response-schemas';
import {
  CancelSubscriptionCommand,
  type CancelSubscriptionResult,
} from './cancel-subscription.command';
import { cancelSubscriptionRequestSchema } from './cancel-subscription.request.dto';

@ApiTags('subscriptions')
@Controller('v1/subscriptions/:id/cancellation')
export class CancelSubscriptionController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  @Post()
  @ApiOperation({
    operationId: 'cancelSubscription',
    summary: 'Cancel a subscription at its term end (R1–R13)',
    description:
      'Access continues until `effectiveAt`; the data is purged at `purgeAt` (90 days later). A second cancellation while one is pending changes nothing (`events` is empty, R13). A well-formed cancellation refused by policy is recorded as `CancellationRefused` and answered with its code (`details.recorded: true`, D6).',
  })
  @ApiOkResponse({ description: 'The cancellation', schema: RESPONSES.cancellation })
  @ApiIdParam('id', 'The subscription', 'sub_7f3a9c')
  @ApiErrors({
    VALIDATION_FAILED:
      'a malformed id, body or Idempotency-Key; a `support` cancellation without `verification` (R10)',
    NOT_FOUND: 'no such subscription',
    INVALID_STATE: 'expired, purged, being terminated (D8), or the term has just ended',
    FORBIDDEN_ROLE: "the person's role may not cancel (R4, R5); recorded",
    CONTACT_SUPPORT:
      'the product or contract cannot cancel through `self_service` (R7, R8); recorded',
    OUTSTANDING_BALANCE: 'self-service cancellation with a balance owed (R6); recorded',
    TRIAL_NEEDS_NO_CANCELLATION: 'a trial simply expires (R11); recorded',
  })
  @HttpCode(200)
  @RequireScope('subscriptions:write')
  async cancel(
    @Param('id') rawId: string,
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<CancelSubscriptionResult> {
    const id = this.endpoint.id(rawId);
    return this.endpoint.execute(request, caller, rawBody, {
      dto: cancelSubscriptionRequestSchema,
      route: `cancel:${id}`,
      who: (body) => ({ actor: body.requestedBy, channel: body.channel }),
      command: (body, context) =>
        new CancelSubscriptionCommand(
          id,
          body.requestedBy,
          body.channel,
          body.survey ?? null,
          body.verification ?? null,
          context,
        ),
    });
  }
}
