import type { AuditFilter, AuditReader, ReadStore } from '@app/read-models';

/** Rows per database round trip while streaming; memory stays at about one page. */
export const EXPORT_PAGE = 500;

/** Every audit event matching `filter` after `after` and up to `upTo`, as NDJSON, a page per chunk. */
export async function* auditEventLines(
  store: ReadStore,
  reader: AuditReader,
  filter: AuditFilter,
  after: bigint | null,
  upTo: bigint | null,
): AsyncGenerator<string> {
  let cursor = after;
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
}
