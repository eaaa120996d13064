import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { RequestFingerprinter } from '@app/infrastructure';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { idSchema } from '../http/common-schemas';
import { commandContext } from '../http/request-context';
import { parseInput } from '../http/zod-validation';
import type { SubscriptionView } from '../subscription-view';
import { withdrawCancellationRequestSchema as reactivationRequestSchema } from '../withdraw-cancellation/withdraw-cancellation.request.dto';
import { ReactivateSubscriptionCommand } from './reactivate-subscription.command';

@Controller('v1/subscriptions/:id/reactivation')
export class ReactivateSubscriptionController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly fingerprinter: RequestFingerprinter,
  ) {}

  /** → 200 Subscription; after the purge 409 INVALID_STATE (D2). */
  @Post()
  @HttpCode(200)
  @RequireScope('subscriptions:write')
  async reactivate(
    @Param('id') rawId: string,
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<SubscriptionView & { events: string[]; position: string | null }> {
    const id = parseInput(idSchema, rawId, 'params');
    const body = parseInput(reactivationRequestSchema, rawBody, 'body');
    const context = commandContext(request, caller, this.fingerprinter, `reactivate:${id}`, body, {
      actor: body.requestedBy,
      channel: body.channel,
    });
    const r = await this.commandBus.execute(
      new ReactivateSubscriptionCommand(id, body.requestedBy, body.channel, context),
    );
    return { ...r.subscription, events: r.events, position: r.position };
  }
}
