import { Body, Controller, Delete, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiIdParam } from '../docs/api-docs.decorators';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import { RESPONSES } from '../read-side/response-schemas';
import { ChangeLegalHoldCommand, type LegalHoldResult } from './legal-hold.command';
import { legalHoldRequestSchema } from './legal-hold.request.dto';

@ApiTags('accounts')
@Controller('v1/accounts/:accountId/legal-hold')
export class LegalHoldController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  @Post()
  @ApiOperation({
    operationId: 'placeLegalHold',
    summary: 'Place a legal hold on an account: its purges wait (D3)',
    description: 'A hold already in force changes nothing (the answer writes nothing).',
  })
  @ApiOkResponse({ description: "The account's hold", schema: RESPONSES.legalHold })
  @ApiIdParam('accountId', 'The account', 'acc_4711')
  @ApiErrors({ NOT_FOUND: 'an account the service never heard of (no subscription registered)' })
  @HttpCode(200)
  @RequireScope('ops')
  place(
    @Param('accountId') id: string,
    @Body() body: unknown,
    @Req() req: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<LegalHoldResult> {
    return this.change('place', id, body, req, caller);
  }

  @Delete()
  @ApiOperation({
    operationId: 'releaseLegalHold',
    summary: "Release an account's legal hold: deferred purges run (D3)",
    description: 'Without a hold in force the answer writes nothing.',
  })
  @ApiOkResponse({ description: "The account's hold", schema: RESPONSES.legalHold })
  @ApiIdParam('accountId', 'The account', 'acc_4711')
  @ApiErrors({ NOT_FOUND: 'an account the service never heard of (no subscription registered)' })
  @HttpCode(200)
  @RequireScope('ops')
  release(
    @Param('accountId') id: string,
    @Body() body: unknown,
    @Req() req: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<LegalHoldResult> {
    return this.change('release', id, body, req, caller);
  }

  private async change(
    action: 'place' | 'release',
    rawId: string,
    rawBody: unknown,
    request: FastifyRequest,
    caller: Caller,
  ): Promise<LegalHoldResult> {
    const accountId = this.endpoint.id(rawId);
    return this.endpoint.execute(request, caller, rawBody, {
      dto: legalHoldRequestSchema,
      route: `legal-hold-${action}:${accountId}`,
      who: (body) => ({ actor: body.requestedBy, channel: 'operator' }),
      command: (body, context) =>
        new ChangeLegalHoldCommand(
          action,
          { accountId, requestedBy: body.requestedBy, reason: body.reason },
          context,
        ),
    });
  }
}
