import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import { derivedSubscriptionId, idempotencyKeyOf } from '../http/request-context';
import {
  RegisterSubscriptionCommand,
  type RegisterSubscriptionResult,
} from './register-subscription.command';
import { registerSubscriptionRequestSchema } from './register-subscription.request.dto';

@Controller('v1/subscriptions')
export class RegisterSubscriptionController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  /** 201 with the Subscription (API.md), plus the position written under `position`. */
  @Post()
  @HttpCode(201)
  @RequireScope('subscriptions:write')
  async register(
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<RegisterSubscriptionResult> {
    return this.endpoint.execute(request, caller, rawBody, {
      dto: registerSubscriptionRequestSchema,
      route: 'register',
      who: () => ({ actor: null, channel: 'system' }),
      command: (body, context) =>
        new RegisterSubscriptionCommand(
          {
            ...body,
            // Without one, the id comes from the key: a retried registration lands on its stream.
            subscriptionId:
              body.subscriptionId ?? derivedSubscriptionId(caller, idempotencyKeyOf(request)),
            outstandingBalance: body.outstandingBalance ?? null,
            assignedLicences: body.assignedLicences ?? 0,
          },
          context,
        ),
    });
  }
}
