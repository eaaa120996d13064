import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { RequestFingerprinter } from '@app/infrastructure';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { idSchema } from '../http/common-schemas';
import { commandContext } from '../http/request-context';
import { parseInput } from '../http/zod-validation';
import {
  CancelSubscriptionCommand,
  type CancelSubscriptionResult,
} from './cancel-subscription.command';
import { cancelSubscriptionRequestSchema } from './cancel-subscription.request.dto';

@Controller('v1/subscriptions/:id/cancellation')
export class CancelSubscriptionController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly fingerprinter: RequestFingerprinter,
  ) {}

  @Post()
  @HttpCode(200)
  @RequireScope('subscriptions:write')
  async cancel(
    @Param('id') rawId: string,
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<CancelSubscriptionResult> {
    const id = parseInput(idSchema, rawId, 'params');
    const body = parseInput(cancelSubscriptionRequestSchema, rawBody, 'body');
    const context = commandContext(request, caller, this.fingerprinter, `cancel:${id}`, body, {
      actor: body.requestedBy,
      channel: body.channel,
    });
    return this.commandBus.execute(
      new CancelSubscriptionCommand(
        id,
        body.requestedBy,
        body.channel,
        body.survey
          ? {
              reason: body.survey.reason as never,
              ...(body.survey.comment !== undefined ? { comment: body.survey.comment } : {}),
            }
          : null,
        body.verification ?? null,
        context,
      ),
    );
  }
}
