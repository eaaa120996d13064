import { Body, Controller, Delete, HttpCode, Param, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiIdParam } from '../docs/api-docs.decorators';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import { RESPONSES } from '../read-side/response-schemas';
import type { SubscriptionCommandResult } from '../subscription-reader';
import { WithdrawCancellationCommand } from './withdraw-cancellation.command';
import { withdrawCancellationRequestSchema } from './withdraw-cancellation.request.dto';

@ApiTags('subscriptions')
@Controller('v1/subscriptions/:id/cancellation')
export class WithdrawCancellationController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  /** → 200 Subscription (docs/http-api.md); after expiry 409 INVALID_STATE. */
  @Delete()
  @ApiOperation({
    operationId: 'withdrawCancellation',
    summary: 'Withdraw a pending cancellation before it takes effect (D1)',
    description: 'An active subscription has nothing to withdraw: the answer writes nothing.',
  })
  @ApiOkResponse({
    description: 'The Subscription after the withdrawal',
    schema: RESPONSES.subscriptionAfterCommand,
  })
  @ApiIdParam('id', 'The subscription', 'sub_7f3a9c')
  @ApiErrors({
    NOT_FOUND: 'no such subscription',
    INVALID_STATE: 'expired or purged, the cancellation took effect, or a trial (R11)',
    FORBIDDEN_ROLE: "the person's role may not withdraw it",
  })
  @HttpCode(200)
  @RequireScope('subscriptions:write')
  async withdraw(
    @Param('id') rawId: string,
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<SubscriptionCommandResult> {
    const id = this.endpoint.id(rawId);
    return this.endpoint.execute(request, caller, rawBody, {
      dto: withdrawCancellationRequestSchema,
      route: `withdraw:${id}`,
      who: (body) => ({ actor: body.requestedBy, channel: body.channel }),
      command: (body, context) =>
        new WithdrawCancellationCommand({ subscriptionId: id, ...body }, context),
    });
  }
}
