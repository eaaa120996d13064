import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import {
  CancelSubscriptionCommand,
  type CancelSubscriptionResult,
} from './cancel-subscription.command';
import { cancelSubscriptionRequestSchema } from './cancel-subscription.request.dto';

@Controller('v1/subscriptions/:id/cancellation')
export class CancelSubscriptionController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  @Post()
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
