import { Body, Controller, Delete, HttpCode, Param, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { RequestFingerprinter } from '@app/infrastructure';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { idSchema } from '../http/common-schemas';
import { commandContext } from '../http/request-context';
import { parseInput } from '../http/zod-validation';
import type { SubscriptionView } from '../subscription-view';
import { WithdrawCancellationCommand } from './withdraw-cancellation.command';
import { withdrawCancellationRequestSchema } from './withdraw-cancellation.request.dto';

@Controller('v1/subscriptions/:id/cancellation')
export class WithdrawCancellationController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly fingerprinter: RequestFingerprinter,
  ) {}

  /** → 200 Subscription (API.md); after expiry 409 INVALID_STATE. */
  @Delete()
  @HttpCode(200)
  @RequireScope('subscriptions:write')
  async withdraw(
    @Param('id') rawId: string,
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<SubscriptionView & { events: string[]; position: string | null }> {
    const id = parseInput(idSchema, rawId, 'params');
    const body = parseInput(withdrawCancellationRequestSchema, rawBody, 'body');
    const context = commandContext(request, caller, this.fingerprinter, `withdraw:${id}`, body, {
      actor: body.requestedBy,
      channel: body.channel,
    });
    const r = await this.commandBus.execute(
      new WithdrawCancellationCommand(id, body.requestedBy, body.channel, context),
    );
    return { ...r.subscription, events: r.events, position: r.position };
  }
}
