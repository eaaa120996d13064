import { Controller, Get, Headers, Inject, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { LOGGER } from '@app/infrastructure';
import { type AuditEvent, AuditReader, ReadStore } from '@app/read-models';
import { RequireScope } from '../http/auth';
import { parseInput } from '../http/zod-validation';
import { afterCursor, type Page, toPage, utc } from '../read-side/paging';
import { RESPONSES } from '../read-side/response-schemas';
import { ReadConsistency } from '../read-side/read-consistency';
import { type AuditEventsQuery, auditEventsQuerySchema } from './audit-events.query';
import { ndjsonAnswer, wantsNdjson } from '../read-side/ndjson-answer';
import { auditEventLines } from './ndjson-export';

const CURSOR_KIND = 'audit-events';

/**
 * The audit trail: every event with actor, channel, correlation and causation ids, oldest first.
 * Pages are keyset-paginated on the log position, so they stay stable while events are appended
 * (new events only ever come after the cursor). Personal fields are decrypted for audit:read
 * callers while their key exists and read "[erased]" once it is shredded (R17).
 */
@ApiTags('audit')
@Controller('v1/audit/events')
export class AuditEventsController {
  constructor(
    private readonly store: ReadStore,
    private readonly reader: AuditReader,
    private readonly consistency: ReadConsistency,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get()
  @RequireScope('audit:read')
  @ApiOperation({
    operationId: 'listAuditEvents',
    summary: 'Audit events (filters, cursor pages, or an NDJSON export)',
    description:
      'Oldest first. With `Accept: application/x-ndjson` or `?format=ndjson` the answer streams every match after the cursor, one `AuditEvent` per line (the `application/x-ndjson` schema is one line), up to the newest event at the start of the request (`X-Export-Up-To`); `limit` does not apply, and a failure after the first byte ends the stream with one `{"error":…}` line.',
  })
  @ApiOkResponse({
    description: 'A page of audit events (JSON), or the NDJSON export',
    headers: { 'X-Export-Up-To': { $ref: '#/components/headers/XExportUpTo' } },
    content: {
      'application/json': { schema: RESPONSES.auditPage },
      'application/x-ndjson': { schema: RESPONSES.auditEvent },
    },
  })
  @ApiProduces('application/json', 'application/x-ndjson')
  async list(
    @Query({ schema: auditEventsQuerySchema }) rawQuery: unknown,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Page<AuditEvent> | StreamableFile> {
    const query = parseInput(auditEventsQuerySchema, rawQuery, 'query');
    const after = afterCursor(CURSOR_KIND, query.cursor);
    await this.consistency.ensure(query, reply);
    const filter = filterOf(query);
    if (wantsNdjson(query.format, accept)) {
      // Snapshot of the end: the export ends even while events keep arriving.
      const upTo = await this.store.auditHead();
      const lines = auditEventLines(this.store, this.reader, filter, after, upTo);
      return ndjsonAnswer(reply, upTo, lines, 'audit export', this.logger);
    }
    const rows = await this.store.auditRows(filter, { after, limit: query.limit + 1 });
    return toPage(CURSOR_KIND, rows, query.limit, (p) => this.reader.toEvents(p));
  }
}

function filterOf(q: AuditEventsQuery) {
  return {
    accountId: q.accountId,
    subscriptionId: q.subscriptionId,
    actorId: q.actorId,
    types: q.type,
    from: utc(q.from),
    to: utc(q.to),
  };
}
