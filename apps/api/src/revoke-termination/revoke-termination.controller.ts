import { Body, Controller, Delete, HttpCode, Param, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { ERROR_SCHEMA_REF } from '../docs/openapi-document';
import { RESPONSES } from '../read-side/response-schemas';
import { CommandEndpoint } from '../http/command-endpoint';
import type { SubscriptionCommandResult } from '../subscription-reader';
import { RevokeTerminationCommand } from './revoke-termination.command';
import { revokeTerminationRequestSchema } from './revoke-termination.request.dto';

@Controller('v1/subscriptions/:id/termination')
export class RevokeTerminationController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  /** D8 → 200 Subscription; once the termination took effect, 409 INVALID_STATE. */
  @Delete()
  @ApiTags('subscriptions')
  @ApiOperation({ summary: 'Revoke a termination before it takes effect (D8)' })
  @ApiOkResponse({ schema: RESPONSES.subscriptionCommand })
  @ApiResponse({
    status: 404,
    description: 'NOT_FOUND: no such subscription',
    schema: ERROR_SCHEMA_REF,
  })
  @ApiResponse({
    status: 409,
    description: 'INVALID_STATE: the termination took effect already',
    schema: ERROR_SCHEMA_REF,
  })
  @ApiResponse({
    status: 422,
    description: 'IDEMPOTENCY_KEY_REUSED: the same key with another body',
    schema: ERROR_SCHEMA_REF,
  })
  @HttpCode(200)
  @RequireScope('subscriptions:write')
  async revoke(
    @Param('id') rawId: string,
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<SubscriptionCommandResult> {
    const id = this.endpoint.id(rawId);
    return this.endpoint.execute(request, caller, rawBody, {
      dto: revokeTerminationRequestSchema,
      route: `revoke-termination:${id}`,
      who: (body) => ({ actor: body.requestedBy, channel: 'system' }),
      command: (body, context) =>
        new RevokeTerminationCommand(
          { subscriptionId: id, requestedBy: body.requestedBy },
          context,
        ),
    });
  }
}
