import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { type PurgeReceiptView, ReadStore, toPurgeReceiptView } from '@app/read-models';
import { RequireScope } from '../http/auth';
import { idSchema, instantSchema } from '../http/common-schemas';
import { parseInput } from '../http/zod-validation';
import { afterCursor, type Page, toPage, utc } from '../read-side/paging';
import { RESPONSES } from '../read-side/response-schemas';
import {
  consistencyQuery,
  cursorParam,
  limitParam,
  ReadConsistency,
} from '../read-side/read-consistency';

const CURSOR_KIND = 'audit-purges';

export const auditPurgesQuerySchema = z
  .strictObject({
    from: instantSchema.optional().describe('purgedAt at or after (inclusive).'),
    to: instantSchema.optional().describe('purgedAt before (exclusive).'),
    accountId: idSchema.optional(),
    subscriptionId: idSchema.optional(),
    limit: limitParam,
    cursor: cursorParam,
    ...consistencyQuery,
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), {
    message: 'from must not be after to',
    path: ['from'],
  });

/**
 * R15's proof: one receipt per completed purge (ProductDataPurged) — what was deleted (items,
 * bytes, content hashes per data holder, keys shredded, read-model rows scrubbed, jobs removed),
 * where (holder and location), when (purgedAt, with the expiry and purge dates it followed) and
 * by which job (command id, correlation and causation ids, actor, channel). No personal data.
 */
@ApiTags('audit')
@Controller('v1/audit/purges')
export class AuditPurgesController {
  constructor(
    private readonly store: ReadStore,
    private readonly consistency: ReadConsistency,
  ) {}

  @Get()
  @RequireScope('audit:read')
  @ApiOperation({
    operationId: 'listPurgeReceipts',
    summary: 'Purge receipts (R15): what was deleted, where, when, by which job',
  })
  @ApiOkResponse({ description: 'A page of purge receipts', schema: RESPONSES.purgePage })
  async list(
    @Query({ schema: auditPurgesQuerySchema }) rawQuery: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Page<PurgeReceiptView>> {
    const query = parseInput(auditPurgesQuerySchema, rawQuery, 'query');
    const after = afterCursor(CURSOR_KIND, query.cursor);
    await this.consistency.ensure(query, reply);
    const rows = await this.store.purgeReceipts(
      {
        from: utc(query.from),
        to: utc(query.to),
        accountId: query.accountId,
        subscriptionId: query.subscriptionId,
      },
      { after, limit: query.limit + 1 },
    );
    return toPage(CURSOR_KIND, rows, query.limit, (p) => p.map(toPurgeReceiptView));
  }
}
