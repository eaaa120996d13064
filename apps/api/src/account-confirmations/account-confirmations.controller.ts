import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiIdParam } from '../docs/api-docs.decorators';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { type ConfirmationView, ReadStore, toConfirmationView } from '@app/read-models';
import { afterCursor, type Page, toPage } from '../read-side/paging';
import { RequireScope } from '../http/auth';
import { idSchema } from '../http/common-schemas';
import { parseInput } from '../http/zod-validation';
import { RESPONSES } from '../read-side/response-schemas';
import {
  consistencyQuery,
  cursorParam,
  limitParam,
  ReadConsistency,
} from '../read-side/read-consistency';

const CURSOR_KIND = 'confirmations';

export const confirmationsQuerySchema = z.strictObject({
  limit: limitParam,
  cursor: cursorParam,
  ...consistencyQuery,
});

/**
 * R16: the confirmations contract customers get when their cancellation is recorded — the
 * notifier's outbox (embedded adapter). With NOTIFY_WEBHOOK_URL set, each is also delivered as a
 * signed webhook and its status shows the delivery.
 */
@ApiTags('queries')
@Controller('v1/accounts/:accountId/confirmations')
export class AccountConfirmationsController {
  constructor(
    private readonly store: ReadStore,
    private readonly consistency: ReadConsistency,
  ) {}

  @Get()
  @RequireScope('subscriptions:read')
  @ApiOperation({
    operationId: 'listAccountConfirmations',
    summary: 'Cancellation confirmations for a contract account (R16 outbox)',
  })
  @ApiOkResponse({ description: 'A page of confirmations', schema: RESPONSES.confirmationPage })
  @ApiIdParam('accountId', 'The account', 'acc_4711')
  async list(
    @Param('accountId', { schema: idSchema }) rawId: string,
    @Query({ schema: confirmationsQuerySchema }) rawQuery: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Page<ConfirmationView>> {
    const accountId = parseInput(idSchema, rawId, 'params');
    const query = parseInput(confirmationsQuerySchema, rawQuery, 'query');
    const after = afterCursor(CURSOR_KIND, query.cursor);
    await this.consistency.ensure(query, reply);
    const rows = await this.store.confirmationsOf(accountId, { after, limit: query.limit + 1 });
    return toPage(CURSOR_KIND, rows, query.limit, (p) => p.map(toConfirmationView));
  }
}
