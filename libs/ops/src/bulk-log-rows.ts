import type Database from 'better-sqlite3';
import type { EventMetadata, RecordedEvent } from '@app/event-store';

/** A row of the SQLite log: [position, stream_id, revision, type, data, event_id, metadata]. */
export type LogRow = [number, string, number, string, string, string, string];

/** The columns of a LogRow, in its order. */
export const LOG_ROW_COLUMNS = 'position, stream_id, revision, type, data, event_id, metadata';

/**
 * A stored event as the store gives it (upcasters may spread or reassign it); its metadata is
 * parsed when first read.
 */
export function storedEvent(row: LogRow): RecordedEvent {
  const [position, streamId, revision, type, dataText, eventId, metadataText] = row;
  let metadata: EventMetadata | undefined;
  return {
    eventId,
    streamId,
    revision,
    position: BigInt(position),
    type,
    data: JSON.parse(dataText) as Record<string, unknown>,
    get metadata() {
      return (metadata ??= JSON.parse(metadataText) as EventMetadata);
    },
    set metadata(value: EventMetadata) {
      metadata = value;
    },
  };
}

/**
 * Writes rows of one table with one prepared statement, its columns those of the first row (the
 * mapping makes every row of a table with the same fields). better-sqlite3 refuses undefined.
 */
export function rowWriter(
  db: Database.Database,
  table: string,
  conflict: 'IGNORE' | 'REPLACE',
): (row: object) => void {
  let columns: string[] | null = null;
  let insert: Database.Statement | null = null;
  return (row) => {
    const r = row as Record<string, unknown>;
    if (!columns || !insert) {
      columns = Object.keys(r);
      insert = db.prepare(
        `INSERT OR ${conflict} INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      );
    }
    insert.run(columns.map((c) => r[c] ?? null));
  };
}
