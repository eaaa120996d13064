import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { RequestFingerprinter } from '@app/infrastructure';
import type { ErasureResult } from '@app/purge';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { idSchema } from '../http/common-schemas';
import { commandContext } from '../http/request-context';
import { parseInput } from '../http/zod-validation';
import { ErasePersonalDataCommand } from './erase-personal-data.command';
import { erasePersonalDataRequestSchema } from './erase-personal-data.request.dto';

@Controller('v1/accounts/:accountId/erasure')
export class ErasePersonalDataController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly fingerprinter: RequestFingerprinter,
  ) {}

  /** → 200 with the erasure receipt (keys shredded, read-model rows scrubbed). */
  @Post()
  @HttpCode(200)
  @RequireScope('ops')
  erase(
    @Param('accountId') rawId: string,
    @Body() rawBody: unknown,
    @Req() request: FastifyRequest,
    @CurrentCaller() caller: Caller,
  ): Promise<ErasureResult> {
    const accountId = parseInput(idSchema, rawId, 'params');
    const body = parseInput(erasePersonalDataRequestSchema, rawBody, 'body');
    const context = commandContext(
      request,
      caller,
      this.fingerprinter,
      `erasure:${accountId}`,
      body,
      {
        actor: body.requestedBy,
        channel: 'operator',
      },
    );
    return this.commandBus.execute(
      new ErasePersonalDataCommand(accountId, body.requestedBy, body.reason, context),
    );
  }
}
