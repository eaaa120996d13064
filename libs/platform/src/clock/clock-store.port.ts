import type { DateTime } from 'luxon';

/**
 * Where a controlled clock keeps its reading, so that every process of a deployment reads the
 * same time and a restart resumes from the last reading, never earlier. Implementations: a SQLite
 * file under DATA_DIR (embedded default) and PostgreSQL (READ_DB_URL), in libs/infrastructure.
 */
export interface ClockStore {
  /** The stored reading, or null when none was ever stored. */
  load(): Promise<DateTime | null>;
  /**
   * Moves the stored reading to `to` in one atomic step and returns it. When the stored reading
   * is later than `to` nothing changes and it rejects with ClockBackwardsError (with the stored
   * reading as `current`): the store, not a process's memory, is the judge of "forward".
   */
  moveTo(to: DateTime): Promise<DateTime>;
  close(): Promise<void>;
}
