/**
 * Schema of the SQLite event log. `position` is an AUTOINCREMENT rowid: with writers serialised by
 * BEGIN IMMEDIATE it is assigned in commit order and never reused, which is what makes it a
 * global position. The UNIQUE(stream_id, revision) constraint is both the last line of defence
 * against two writers taking the same revision and the index every stream read uses (its implicit
 * index leads with stream_id, so a separate stream index would only slow appends down).
 */
export const SCHEMA_VERSION = 1;

export const CREATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position  INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id  TEXT    NOT NULL UNIQUE,
  stream_id TEXT    NOT NULL,
  revision  INTEGER NOT NULL,
  type      TEXT    NOT NULL,
  data      TEXT    NOT NULL,
  metadata  TEXT    NOT NULL,
  UNIQUE (stream_id, revision)
);
`;

const COLUMNS = 'position, event_id, stream_id, revision, type, data, metadata';

export const SQL = {
  streamRevision: 'SELECT MAX(revision) FROM events WHERE stream_id = ?',
  insert:
    'INSERT INTO events (event_id, stream_id, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
  readStream: `SELECT ${COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?`,
  readAll: `SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`,
  head: 'SELECT MAX(position) FROM events',
} as const;

export interface EventRow {
  position: bigint;
  event_id: string;
  stream_id: string;
  revision: bigint;
  type: string;
  data: string;
  metadata: string;
}
