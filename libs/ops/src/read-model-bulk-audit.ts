import Database from 'better-sqlite3';
// The mapping's module itself, not @app/read-models (see read-model-bulk-fold.ts).
import { auditRow, type ScrubMarkers } from '../../read-models/src/projection/read-model-rows';
import { LOG_ROW_COLUMNS, type LogRow, rowWriter, storedEvent } from './bulk-log-rows';
import { journalInMemory } from './sqlite-bulk-pragmas';

/**
 * The audit rows of the replay's bulk build (read-model-bulk-build.ts): one per event, made by the
 * projection's own mapping (`auditRow`, read-model-rows.ts) and written straight into the shadow
 * in log order, in a thread of their own while the fold threads make the other rows.
 */
export interface AuditCopyOptions {
  logFile: string;
  /** The shadow: migrated, rm_audit_events empty; nobody else writes it meanwhile. */
  shadowFile: string;
  /** Up to this position (included). */
  until: number;
  pageSize: number;
  /** The shadow's scrub markers: rows of scrubbed subjects are written scrubbed. */
  scrubs: ScrubMarkers;
}

export interface AuditCopyResult {
  events: number;
  position: number | null;
}

export async function copyAuditRows(
  o: AuditCopyOptions,
  onPage: (events: number, position: number) => void = () => undefined,
): Promise<AuditCopyResult> {
  const log = new Database(o.logFile, { readonly: true, fileMustExist: true });
  const db = new Database(o.shadowFile, { fileMustExist: true });
  try {
    log.pragma('cache_size = -8192');
    journalInMemory(db);
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -16384');
    const read = log
      .prepare(
        `SELECT ${LOG_ROW_COLUMNS} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?`,
      )
      .raw();
    const write = rowWriter(db, 'rm_audit_events', 'IGNORE');
    const result: AuditCopyResult = { events: 0, position: null };
    const copyPage = db.transaction((after: number): number => {
      let last = -1;
      for (const row of read.iterate(after, o.until, o.pageSize) as IterableIterator<LogRow>) {
        last = row[0];
        write(auditRow(storedEvent(row), o.scrubs, Number));
        result.events++;
      }
      return last;
    });
    let after = 0;
    while (after < o.until) {
      const last = copyPage(after);
      if (last < 0) break;
      after = result.position = last;
      onPage(result.events, last);
      // Let the thread answer its messages (a stop) between pages.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return result;
  } finally {
    db.close();
    log.close();
  }
}
