import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiIdParam } from '../docs/api-docs.decorators';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { RESPONSES } from '../read-side/response-schemas';
import { CommandEndpoint } from '../http/command-endpoint';
import {
  TerminateSubscriptionCommand,
  type TerminateSubscriptionResult,
} from './terminate-subscription.command';
import { terminateSubscriptionRequestSchema } from './terminate-subscription.request.dto';

@Controller('v1/subscriptions/:id/termination')
export class TerminateSubscriptionController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  /** D8 → 200 { subscription, effectiveAt, purgeAt, events }; expired or purged: 409 INVALID_STATE. */
  @Post()
  @ApiTags('subscriptions')
  @ApiOperation({
    operationId: 'terminateSubscription',
    summary: 'Terminate a subscription without the customer (D8)',
    description:
      '`effective`: `immediately` (the subscription expires in this request), `term_end`, or an instant between now and the end of the current term. The data is purged 90 days after.',
  })
  @ApiOkResponse({ description: 'The termination', schema: RESPONSES.termination })
  @ApiIdParam('id', 'The subscription', 'sub_7f3a9c')
  @ApiErrors({
    VALIDATION_FAILED:
      'a malformed id, body or Idempotency-Key; an `effective` instant in the past or after the term end',
    NOT_FOUND: 'no such subscription',
    INVALID_STATE: 'expired, purged, or another termination is pending',
  })
  @HttpCode(200)
  @RequireScope('subscriptions:write')
  async terminate(
    @Param('id') rawId: string,
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<TerminateSubscriptionResult> {
    const id = this.endpoint.id(rawId);
    return this.endpoint.execute(request, caller, rawBody, {
      dto: terminateSubscriptionRequestSchema,
      route: `terminate:${id}`,
      who: (body) => ({ actor: body.requestedBy, channel: 'system' }),
      command: (body, context) =>
        new TerminateSubscriptionCommand(
          {
            subscriptionId: id,
            requestedBy: body.requestedBy,
            reason: body.reason,
            effective: body.effective,
            note: body.note ?? null,
          },
          context,
        ),
    });
  }
}
