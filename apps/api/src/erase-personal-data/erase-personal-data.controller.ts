import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiIdParam } from '../docs/api-docs.decorators';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { CommandEndpoint } from '../http/command-endpoint';
import { RESPONSES } from '../read-side/response-schemas';
import {
  ErasePersonalDataCommand,
  type ErasePersonalDataResult,
} from './erase-personal-data.command';
import { erasePersonalDataRequestSchema } from './erase-personal-data.request.dto';

@ApiTags('accounts')
@Controller('v1/accounts/:accountId/erasure')
export class ErasePersonalDataController {
  constructor(private readonly endpoint: CommandEndpoint) {}

  /**
   * → 200 with the erasure receipt (keys shredded, read-model rows scrubbed); under a legal hold
   * 409 LEGAL_HOLD, recorded as ErasureRefused, nothing shredded (D10).
   */
  @Post()
  @ApiOperation({
    operationId: 'erasePersonalData',
    summary: "GDPR erasure of an account's personal data (R17)",
    description:
      'Shreds every data key of the account now, scrubs the read models and records `PersonalDataErased` with its receipt. `reason` is a ticket reference, not personal data.',
  })
  @ApiOkResponse({ description: 'The erasure receipt', schema: RESPONSES.erasure })
  @ApiIdParam('accountId', 'The account', 'acc_4711')
  @HttpCode(200)
  @RequireScope('ops')
  @ApiErrors({
    NOT_FOUND: 'an account the service never heard of',
    LEGAL_HOLD: 'the account is under a legal hold (D10): refused, recorded, nothing erased',
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
