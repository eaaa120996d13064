import { Body, Controller, Delete, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import { ChangeLegalHoldCommand, type LegalHoldResult } from './legal-hold.command';
import { legalHoldRequestSchema } from './legal-hold.request.dto';

@Controller('v1/accounts/:accountId/legal-hold')
export class LegalHoldController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  @Post()
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
