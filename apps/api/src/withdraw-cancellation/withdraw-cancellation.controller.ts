import { Body, Controller, Delete, HttpCode, Param, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import type { SubscriptionCommandResult } from '../subscription-reader';
import { WithdrawCancellationCommand } from './withdraw-cancellation.command';
import { withdrawCancellationRequestSchema } from './withdraw-cancellation.request.dto';

@Controller('v1/subscriptions/:id/cancellation')
export class WithdrawCancellationController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  /** → 200 Subscription (API.md); after expiry 409 INVALID_STATE. */
  @Delete()
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
