import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { AuditReader, ReadStore } from '@app/read-models';

export interface AuditExportOptions {
  store: ReadStore;
  reader: AuditReader;
  /** Inclusive, ISO 8601. */
  from?: string | undefined;
  /** Exclusive, ISO 8601. */
  to?: string | undefined;
  out: string;
  pageSize?: number;
  onProgress?: (p: { done: number; total: number }) => void;
}

/**
 * Writes the audit events recorded in [from, to) to an NDJSON file, oldest first, up to the audit
 * head at the start (so the export ends), decrypted as GET /v1/audit/events returns them.
 */
export async function exportAudit(
  o: AuditExportOptions,
): Promise<{ events: number; upTo: string | null }> {
  const upTo = await o.store.auditHead();
  const out = createWriteStream(o.out, { encoding: 'utf8' });
  let events = 0;
  let after: bigint | null = null;
  const total = Number(upTo ?? 0n);
  try {
    for (;;) {
      const rows = await o.store.auditRows(
        { from: o.from, to: o.to },
        { after, upTo, limit: o.pageSize ?? 1000 },
      );
      if (rows.length === 0) break;
      for (const e of await o.reader.toEvents(rows))
        if (!out.write(`${JSON.stringify(e)}\n`)) await once(out, 'drain');
      events += rows.length;
      after = BigInt(rows[rows.length - 1]!.position);
      o.onProgress?.({ done: Number(after), total });
    }
  } finally {
    out.end();
    await once(out, 'finish');
  }
  return { events, upTo: upTo?.toString() ?? null };
}
