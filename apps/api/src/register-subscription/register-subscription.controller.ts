import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { RequestFingerprinter } from '@app/infrastructure';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { commandContext, derivedSubscriptionId, idempotencyKeyOf } from '../http/request-context';
import { parseInput } from '../http/zod-validation';
import type { SubscriptionView } from '../subscription-view';
import { RegisterSubscriptionCommand } from './register-subscription.command';
import { registerSubscriptionRequestSchema } from './register-subscription.request.dto';

@Controller('v1/subscriptions')
export class RegisterSubscriptionController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly fingerprinter: RequestFingerprinter,
  ) {}

  /** 201 with the Subscription (API.md), plus the position written under `position`. */
  @Post()
  @HttpCode(201)
  @RequireScope('subscriptions:write')
  async register(
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<SubscriptionView & { position: string | null }> {
    const body = parseInput(registerSubscriptionRequestSchema, rawBody, 'body');
    const subscriptionId =
      body.subscriptionId ?? derivedSubscriptionId(caller, idempotencyKeyOf(request));
    const context = commandContext(request, caller, this.fingerprinter, 'register', body, {
      actor: null,
      channel: 'system',
    });
    const result = await this.commandBus.execute(
      new RegisterSubscriptionCommand(
        {
          subscriptionId,
          accountId: body.accountId,
          productId: body.productId,
          plan: body.plan,
          termStart: body.termStart,
          timeZone: body.timeZone,
          contract: body.contract,
          autoRenew: body.autoRenew,
          outstandingBalance: body.outstandingBalance ?? null,
          assignedLicences: body.assignedLicences ?? 0,
        },
        context,
      ),
    );
    return { ...result.subscription, position: result.position };
  }
}
