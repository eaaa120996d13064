import { Body, Controller, Delete, HttpCode, Param, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiIdParam } from '../docs/api-docs.decorators';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
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
  @ApiOperation({
    operationId: 'revokeTermination',
    summary: 'Revoke a termination before it takes effect (D8)',
    description: 'Without a termination pending the answer writes nothing.',
  })
  @ApiOkResponse({
    description: 'The Subscription after the revocation',
    schema: RESPONSES.subscriptionAfterCommand,
  })
  @ApiIdParam('id', 'The subscription', 'sub_7f3a9c')
  @ApiErrors({
    NOT_FOUND: 'no such subscription',
    INVALID_STATE: 'the termination took effect already, or the subscription expired or was purged',
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
