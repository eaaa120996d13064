import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { AuditReader, ReadStore } from '@app/read-models';
import { isProcessRunning } from '@app/platform';

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
  /** Aborting stops the export between pages; its temporary file is removed, `out` untouched. */
  signal?: AbortSignal;
}

/**
 * Writes the audit events recorded in [from, to) to an NDJSON file, oldest first, up to the audit
 * head at the start (so the export ends), decrypted as GET /v1/audit/events returns them.
 *
 * Atomic: the events go to `<out>.<pid>.tmp` in the same directory, which is synced and then
 * renamed over `out` once complete. A failed or aborted export removes its temporary file and
 * leaves a file already at `out` as it was; a reader of `out` never sees a partial export. The
 * temporary files of earlier exports to the same `out` whose process is gone (killed with
 * SIGKILL, power cut) are removed first: they hold decrypted personal fields.
 */
export async function exportAudit(
  o: AuditExportOptions,
): Promise<{ events: number; upTo: string | null }> {
  o.signal?.throwIfAborted();
  await removeOrphanedTmpFiles(o.out);
  const tmp = `${o.out}.${process.pid}.tmp`;
  // First: a path that cannot be written fails before anything is read.
  // Owner-only: the export holds personal fields decrypted.
  const file = await open(tmp, 'w', 0o600);
  let renamed = false;
  try {
    const upTo = await o.store.auditHead();
    let events = 0;
    let after: bigint | null = null;
    const total = Number(upTo ?? 0n);
    for (;;) {
      o.signal?.throwIfAborted();
      const rows = await o.store.auditRows(
        { from: o.from, to: o.to },
        { after, upTo, limit: o.pageSize ?? 1000 },
      );
      if (rows.length === 0) break;
      let page = '';
      for (const e of await o.reader.toEvents(rows)) page += `${JSON.stringify(e)}\n`;
      // At the file's position, all of it (writeFile on a handle loops over short writes).
      await file.writeFile(page, 'utf8');
      events += rows.length;
      after = BigInt(rows[rows.length - 1]!.position);
      o.onProgress?.({ done: Number(after), total });
    }
    await file.sync();
    await file.close();
    await rename(tmp, o.out);
    renamed = true;
    await syncDirectory(dirname(o.out));
    return { events, upTo: upTo?.toString() ?? null };
  } finally {
    if (!renamed) {
      await file.close().catch(() => undefined);
      await rm(tmp, { force: true });
    }
  }
}

/** `<out>.<pid>.tmp` files left by export processes that no longer run. */
async function removeOrphanedTmpFiles(out: string): Promise<void> {
  const prefix = `${basename(out)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(out));
  } catch {
    return; // The directory does not exist: open() below reports it.
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = name.slice(prefix.length, -'.tmp'.length);
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid || isProcessRunning(Number(pid)))
      continue;
    await rm(join(dirname(out), name), { force: true });
  }
}

/** Makes the rename durable (best effort: not every platform can open a directory). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The export is complete and in place; only its durability across a power cut is unproven.
  }
}
