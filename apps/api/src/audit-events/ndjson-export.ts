import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { AuditFilter, AuditReader, ReadStore } from '@app/read-models';

/** Rows per database round trip while streaming; memory stays at about one page. */
export const EXPORT_PAGE = 500;

/**
 * Streams every audit event matching `filter` after `after` and up to `upTo` as NDJSON, one page
 * at a time: nothing is buffered beyond the page in hand, and the stream only reads the next page
 * when the socket has taken the previous one (backpressure). A failure after the first byte
 * cannot change the status code any more, so it ends the stream with one `{"error":…}` line.
 */
export function ndjsonExport(
  store: ReadStore,
  reader: AuditReader,
  filter: AuditFilter,
  after: bigint | null,
  upTo: bigint | null,
  logger: Logger,
): Readable {
  async function* lines(): AsyncGenerator<string> {
    let cursor = after;
    try {
      for (;;) {
        const rows = await store.auditRows(filter, { after: cursor, upTo, limit: EXPORT_PAGE });
        if (rows.length === 0) return;
        const events = await reader.toEvents(rows);
        let chunk = '';
        for (const e of events) chunk += `${JSON.stringify(e)}\n`;
        yield chunk;
        cursor = BigInt(rows[rows.length - 1]!.position);
        if (rows.length < EXPORT_PAGE) return;
      }
    } catch (err) {
      logger.error({ err }, 'audit export failed after the response started');
      yield `${JSON.stringify({ error: { code: 'INTERNAL', message: 'The export failed; it has been logged.' } })}\n`;
    }
  }
  return Readable.from(lines(), { objectMode: true, highWaterMark: 1 });
}
