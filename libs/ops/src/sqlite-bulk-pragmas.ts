import type Database from 'better-sqlite3';

/**
 * Rollback journal in memory for a file the bulk build writes and nobody else reads until it is
 * done (a shadow, a scratch file: lost to a crash, it is simply built again). Not `OFF`:
 * better-sqlite3 opens connections in SQLite's defensive mode, which ignores `journal_mode = OFF`
 * without an error, and a shadow left in WAL mode then wrote every page twice (WAL, then
 * checkpoint). Throws if the mode did not take (another connection still has the file open in
 * WAL mode, say), rather than going on at half speed.
 */
export function journalInMemory(db: Database.Database): void {
  const mode = db.pragma('journal_mode = MEMORY', { simple: true });
  if (mode !== 'memory')
    throw new Error(`bulk build: ${db.name} stays in journal_mode=${String(mode)}`);
}
