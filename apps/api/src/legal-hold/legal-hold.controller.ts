import { Body, Controller, Delete, HttpCode, Param, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { RequestFingerprinter } from '@app/infrastructure';
import { type Caller, CurrentCaller, RequireScope } from '../http/auth';
import { idSchema } from '../http/common-schemas';
import { commandContext } from '../http/request-context';
import { parseInput } from '../http/zod-validation';
import { ChangeLegalHoldCommand, type LegalHoldResult } from './legal-hold.command';
import { legalHoldRequestSchema } from './legal-hold.request.dto';

@Controller('v1/accounts/:accountId/legal-hold')
export class LegalHoldController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly fingerprinter: RequestFingerprinter,
  ) {}

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

  private change(
    action: 'place' | 'release',
    rawId: string,
    rawBody: unknown,
    request: FastifyRequest,
    caller: Caller,
  ) {
    const accountId = parseInput(idSchema, rawId, 'params');
    const body = parseInput(legalHoldRequestSchema, rawBody, 'body');
    const context = commandContext(
      request,
      caller,
      this.fingerprinter,
      `legal-hold-${action}:${accountId}`,
      body,
      {
        actor: body.requestedBy,
        channel: 'operator',
      },
    );
    return this.commandBus.execute(
      new ChangeLegalHoldCommand(action, accountId, body.requestedBy, body.reason, context),
    );
  }
}
