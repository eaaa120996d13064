import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../docs/api-docs.decorators';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import { derivedSubscriptionId, idempotencyKeyOf } from '../http/request-context';
import { RESPONSES } from '../read-side/response-schemas';
import {
  RegisterSubscriptionCommand,
  type RegisterSubscriptionResult,
} from './register-subscription.command';
import { registerSubscriptionRequestSchema } from './register-subscription.request.dto';

@ApiTags('subscriptions')
@Controller('v1/subscriptions')
export class RegisterSubscriptionController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  /** 201 with the Subscription (docs/http-api.md), plus the position written under `position`. */
  @Post()
  @ApiOperation({
    operationId: 'registerSubscription',
    summary: 'Register a subscription bought elsewhere',
    description:
      'Without `subscriptionId` the id derives from the calling service and the Idempotency-Key, so a retried registration lands on the same subscription.',
  })
  @ApiCreatedResponse({ description: 'The Subscription', schema: RESPONSES.registration })
  @ApiErrors({
    VALIDATION_FAILED: 'a malformed body (unknown fields too) or Idempotency-Key',
    INVALID_STATE: 'the subscriptionId is registered already (without the same Idempotency-Key)',
  })
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
