import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import type { SubscriptionCommandResult } from '../subscription-reader';
import { ReactivateSubscriptionCommand } from './reactivate-subscription.command';
import { reactivateSubscriptionRequestSchema } from './reactivate-subscription.request.dto';

@Controller('v1/subscriptions/:id/reactivation')
export class ReactivateSubscriptionController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  /** → 200 Subscription; after the purge 409 INVALID_STATE (D2). */
  @Post()
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
