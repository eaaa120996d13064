import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { errorResponse } from '../docs/openapi-document';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import {
  ErasePersonalDataCommand,
  type ErasePersonalDataResult,
} from './erase-personal-data.command';
import { erasePersonalDataRequestSchema } from './erase-personal-data.request.dto';

@Controller('v1/accounts/:accountId/erasure')
export class ErasePersonalDataController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  /**
   * → 200 with the erasure receipt (keys shredded, read-model rows scrubbed); under a legal hold
   * 409 LEGAL_HOLD, recorded as ErasureRefused, nothing shredded (D10).
   */
  @Post()
  @HttpCode(200)
  @RequireScope('ops')
  @ApiResponse({
    status: 409,
    ...errorResponse(
      'LEGAL_HOLD: the account is under a legal hold (D10); refused, recorded, nothing erased',
    ),
  })
  async erase(
    @Param('accountId') rawId: string,
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<ErasePersonalDataResult> {
    const accountId = this.endpoint.id(rawId);
    return this.endpoint.execute(request, caller, rawBody, {
      dto: erasePersonalDataRequestSchema,
      route: `erasure:${accountId}`,
      who: (body) => ({ actor: body.requestedBy, channel: 'operator' }),
      command: (body, context) =>
        new ErasePersonalDataCommand(
          { accountId, requestedBy: body.requestedBy, reason: body.reason },
          context,
        ),
    });
  }
}
