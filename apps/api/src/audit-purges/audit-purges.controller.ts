import { Controller, Get, Headers, Inject, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { LOGGER } from '@app/infrastructure';
import {
  type PurgeReceiptView,
  ReadStore,
  ReceiptKeyring,
  toPurgeReceiptView,
} from '@app/read-models';
import { ApiError } from '../http/api-error';
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
import { ndjsonAnswer, wantsNdjson } from '../read-side/ndjson-answer';
import { receiptChainLines } from './receipt-chain-export';

const CURSOR_KIND = 'audit-purges';

export const auditPurgesQuerySchema = z
  .strictObject({
    from: instantSchema.optional().describe('purgedAt at or after (inclusive).'),
    to: instantSchema.optional().describe('purgedAt before (exclusive).'),
    accountId: idSchema.optional(),
    subscriptionId: idSchema.optional(),
    limit: limitParam,
    cursor: cursorParam,
    format: z
      .enum(['json', 'ndjson'])
      .optional()
      .describe(
        'ndjson (or Accept: application/x-ndjson) streams the whole signed chain of receipts, one PurgeReceipt per line in sequence order, then a signed ReceiptChainHead line (D11, docs/receipts.md); filters, cursor and limit do not apply.',
      ),
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
 * D11: each receipt is signed (Ed25519) and chained to the one before (sequence, previousHash);
 * the NDJSON export is the whole chain with a signed head, checkable offline (docs/receipts.md).
 */
@ApiTags('audit')
@Controller('v1/audit/purges')
export class AuditPurgesController {
  constructor(
    private readonly store: ReadStore,
    private readonly consistency: ReadConsistency,
    private readonly keyring: ReceiptKeyring,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get()
  @RequireScope('audit:read')
  @ApiOperation({
    operationId: 'listPurgeReceipts',
    summary: 'Purge receipts (R15, D11): signed, chained; pages or the NDJSON chain export',
    description:
      "Each receipt is signed by the service (Ed25519 over the RFC 8785 canonical JSON of the receipt without `signature`) and chained to the one before (`sequence`, `previousHash`). With `Accept: application/x-ndjson` or `?format=ndjson` the answer streams the whole chain, one `PurgeReceipt` per line in sequence order, up to the read models' position at the start of the request (`X-Export-Up-To`), then one signed `ReceiptChainHead` line (count and last hash) so that a cut-off end is found; filters, `cursor` and `limit` do not apply (a filtered export could not be checked for completeness). `npm run ops -- verify-receipts` checks an export offline; docs/receipts.md has the scheme.",
  })
  @ApiOkResponse({
    description: 'A page of purge receipts (JSON), or the NDJSON chain export',
    headers: { 'X-Export-Up-To': { $ref: '#/components/headers/XExportUpTo' } },
    content: {
      'application/json': { schema: RESPONSES.purgePage },
      'application/x-ndjson': { schema: RESPONSES.purgeChainLine },
    },
  })
  @ApiProduces('application/json', 'application/x-ndjson')
  async list(
    @Query({ schema: auditPurgesQuerySchema }) rawQuery: unknown,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Page<PurgeReceiptView> | StreamableFile> {
    const query = parseInput(auditPurgesQuerySchema, rawQuery, 'query');
    const ndjson = wantsNdjson(query.format, accept);
    if (ndjson) {
      const filtered = (['from', 'to', 'accountId', 'subscriptionId', 'cursor'] as const).filter(
        (k) => query[k] !== undefined,
      );
      if (filtered.length > 0)
        throw new ApiError('VALIDATION_FAILED', 'The request query is invalid.', {
          issues: filtered.map((k) => ({
            path: `query.${k}`,
            message:
              'does not apply to the NDJSON export: it is the whole signed chain of receipts, ' +
              'so that an auditor can check that none is missing',
          })),
        });
    }
    const after = afterCursor(CURSOR_KIND, query.cursor);
    await this.consistency.ensure(query, reply);
    if (ndjson) {
      // Snapshot of the end: the export ends even while purges go on.
      const upTo = await this.store.checkpoint();
      const lines = receiptChainLines(this.store, this.keyring.signer, upTo);
      return ndjsonAnswer(reply, upTo, lines, 'receipt export', this.logger);
    }
    const rows = await this.store.purgeReceipts(
      {
        from: utc(query.from),
        to: utc(query.to),
        accountId: query.accountId,
        subscriptionId: query.subscriptionId,
        linkedOnly: true,
      },
      { after, limit: query.limit + 1 },
    );
    return toPage(CURSOR_KIND, rows, query.limit, (p) => p.map(toPurgeReceiptView));
  }
}
