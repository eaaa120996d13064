import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { ERROR_SCHEMA_REF } from '../docs/openapi-document';
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
  @ApiOperation({ summary: 'Terminate a subscription without the customer (D8)' })
  @ApiOkResponse({ schema: RESPONSES.termination })
  @ApiResponse({
    status: 404,
    description: 'NOT_FOUND: no such subscription',
    schema: ERROR_SCHEMA_REF,
  })
  @ApiResponse({
    status: 409,
    description: 'INVALID_STATE: expired, purged, or already being terminated otherwise',
    schema: ERROR_SCHEMA_REF,
  })
  @ApiResponse({
    status: 422,
    description: 'IDEMPOTENCY_KEY_REUSED: the same key with another body',
    schema: ERROR_SCHEMA_REF,
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
