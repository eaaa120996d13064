import type Database from 'better-sqlite3';
import { type RebuiltTable, TABLE_KEYS } from './read-model-checksums';

/**
 * The SQLite switch-over's rows copied into the live file before the write lock (see
 * `swapSqlite` in read-model-replay.ts). Copying a million audit rows, building their indexes
 * and committing them took 10 s inside the switch-over's one transaction, during which the live
 * projector could not write. Instead:
 *
 * 1. Each large table of the shadow is copied into `main.<table>__next_<tag>` (same definition,
 *    same indexes; the tag is the replay's generation, so replays running at the same time never
 *    touch each other's tables) in short transactions of `CHUNK_ROWS` rows, with the lock left
 *    free for `PAUSE_MS` between them: the projector writes in the pauses and readers keep the
 *    live tables.
 * 2. From the start of that copy, triggers in the shadow record the key of every row the shadow
 *    changes (the top-up under the lock, scrubs) in `ops_changed`.
 * 3. Under the lock, those rows are copied again, the live table is dropped and
 *    `<table>__next_<tag>` renamed to it: readers see the new table and its indexes from the
 *    COMMIT on, as before.
 *
 * SQLite cannot rename an index, and the live table's indexes keep their names until it is
 * dropped, so the new table's indexes are named `<name>__<tag>` (`nextIndexName`: the name as
 * migrated, with the tag of the replay that built it). Queries never name an index; a migration
 * that drops or replaces one of these indexes must look it up by table (sqlite_master).
 * Tables left by a replay that was killed are dropped by the next one (`dropOrphanedNextTables`).
 */

/** The tables copied ahead (the others are small: copied under the lock as before). */
export const PRECOPIED_TABLES = [
  'rm_audit_events',
  'rm_subscriptions',
  'rm_purge_receipts',
] as const satisfies readonly RebuiltTable[];
export type PrecopiedTable = (typeof PRECOPIED_TABLES)[number];

/** Rows per transaction of the copy ahead (120–210 ms of the live file's write lock, measured). */
const CHUNK_ROWS = 20_000;
/** A replay's tag: its generation (`g` + base-36 time + hex, read-model-replay.ts). */
const TAG = /^g[0-9a-z]+$/;
const NEXT = '__next_';
/** The tag an index name got from the replay that built it. */
const INDEX_TAG = /__g[0-9a-z]+$/;

const checkTag = (tag: string): string => {
  if (!TAG.test(tag)) throw new Error(`replay: bad generation tag ${tag}`);
  return tag;
};

export const nextTable = (table: PrecopiedTable, tag: string): string =>
  `${table}${NEXT}${checkTag(tag)}`;

/** `<name as migrated>__<tag>` (a name given by an earlier replay loses that replay's tag). */
export function nextIndexName(name: string, tag: string): string {
  return `${name.replace(INDEX_TAG, '')}__${checkTag(tag)}`;
}

const quote = (id: string): string => `"${id.replace(/"/g, '""')}"`;
/** `CREATE [UNIQUE] INDEX [IF NOT EXISTS] <name> ON <table>` with or without quotes. */
const INDEX_HEAD =
  /^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"(?:[^"]|"")+"|\w+)\s+ON\s+(?:"(?:[^"]|"")+"|\w+)\s*\(/i;
const TABLE_HEAD = /^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"(?:[^"]|"")+"|\w+)\s*\(/i;

/**
 * The DDL of the live table and its indexes, rewritten for `<table>__next`; null when a
 * definition is not in a form this can rewrite (the table is then copied under the lock).
 */
export function nextTableDdl(
  conn: Database.Database,
  table: PrecopiedTable,
  tag: string,
): { table: string; indexes: string[] } | null {
  const rows = conn
    .prepare(
      `SELECT type, name, sql FROM main.sqlite_master
       WHERE tbl_name = ? AND sql IS NOT NULL AND type IN ('table', 'index')`,
    )
    .all(table) as { type: string; name: string; sql: string }[];
  const tableSql = rows.find((r) => r.type === 'table')?.sql;
  if (!tableSql || !TABLE_HEAD.test(tableSql)) return null;
  const indexes: string[] = [];
  for (const r of rows.filter((x) => x.type === 'index')) {
    const head = INDEX_HEAD.exec(r.sql);
    if (!head) return null;
    indexes.push(
      `CREATE ${head[1] ?? ''}INDEX main.${quote(nextIndexName(r.name, tag))} ON ${quote(nextTable(table, tag))} (${r.sql.slice(head[0].length)}`,
    );
  }
  return {
    table: tableSql.replace(TABLE_HEAD, `CREATE TABLE main.${quote(nextTable(table, tag))} (`),
    indexes,
  };
}

/** Drops this replay's tables copied ahead (one transaction). */
export function dropNextTables(conn: Database.Database, tag: string): void {
  conn.transaction(() => {
    for (const t of PRECOPIED_TABLES)
      conn.exec(`DROP TABLE IF EXISTS main.${quote(nextTable(t, tag))}`);
  })();
}

/**
 * Drops the tables copied ahead by replays that are gone: those whose tag is not in `running`
 * (the shadow directories under DATA_DIR/replay, each a replay still running; the shadows of
 * killed replays are removed first). Returns the names dropped.
 */
export function dropOrphanedNextTables(
  conn: Database.Database,
  running: ReadonlySet<string>,
): string[] {
  const names = conn
    .prepare(`SELECT name FROM main.sqlite_master WHERE type = 'table' AND name GLOB '*${NEXT}g*'`)
    .pluck()
    .all() as string[];
  const orphans = names.filter((n) => {
    const tag = n.slice(n.lastIndexOf(NEXT) + NEXT.length);
    return TAG.test(tag) && !running.has(tag);
  });
  if (orphans.length > 0)
    conn.transaction(() => {
      for (const n of orphans) conn.exec(`DROP TABLE IF EXISTS main.${quote(n)}`);
    })();
  return orphans;
}

/**
 * From now on, the key of every row of a pre-copied table the shadow inserts, updates or
 * deletes is recorded in `shadow.ops_changed` (whichever connection writes it).
 */
export function recordShadowChanges(conn: Database.Database): void {
  // `k` has no declared type (no affinity): a key is kept as the table holds it. Declared ANY
  // (NUMERIC affinity outside STRICT tables), a text id like '00123' became 123, and matched
  // every id of that number (123, 0123, …) when copied again.
  conn.exec(
    'CREATE TABLE IF NOT EXISTS shadow.ops_changed (tbl TEXT NOT NULL, k NOT NULL, PRIMARY KEY (tbl, k))',
  );
  for (const table of PRECOPIED_TABLES) {
    const key = TABLE_KEYS[table];
    for (const [event, row] of [
      ['INSERT', 'NEW'],
      ['UPDATE', 'NEW'],
      ['DELETE', 'OLD'],
    ] as const)
      conn.exec(
        `CREATE TRIGGER IF NOT EXISTS shadow.${quote(`ops_changed_${table}_${event.toLowerCase()}`)}
         AFTER ${event} ON ${quote(table)}
         BEGIN INSERT OR IGNORE INTO ops_changed (tbl, k) VALUES ('${table}', ${row}.${quote(key)}); END`,
      );
  }
}

/**
 * Copies `shadow.<table>` into `main.<table>__next` (created with its indexes) in short
 * transactions, with the lock left free between them (other writers get in; a stop is seen).
 */
export async function copyAhead(
  conn: Database.Database,
  table: PrecopiedTable,
  tag: string,
  ddl: { table: string; indexes: string[] },
  columns: readonly string[],
  stopIfAborted: () => void,
  chunkRows = CHUNK_ROWS,
): Promise<void> {
  conn.transaction(() => {
    conn.exec(`DROP TABLE IF EXISTS main.${quote(nextTable(table, tag))}`);
    conn.exec(ddl.table);
    for (const i of ddl.indexes) conn.exec(i);
  })();
  const list = columns.map(quote).join(', ');
  const bound = conn
    .prepare(
      `SELECT rowid FROM shadow.${quote(table)} WHERE rowid > ? ORDER BY rowid LIMIT 1 OFFSET ${Math.max(1, Math.trunc(chunkRows)) - 1}`,
    )
    .pluck();
  const copy = conn.prepare(
    `INSERT INTO main.${quote(nextTable(table, tag))} (${list})
     SELECT ${list} FROM shadow.${quote(table)} WHERE rowid > ? AND rowid <= ? ORDER BY rowid`,
  );
  let after = Number.MIN_SAFE_INTEGER;
  for (let chunk = 0; ; chunk++) {
    const upTo = (bound.get(after) as number | undefined) ?? Number.MAX_SAFE_INTEGER;
    conn.transaction(() => copy.run(after, upTo)).immediate();
    if (upTo === Number.MAX_SAFE_INTEGER) break;
    after = upTo;
    // Keep the WAL short when no other process checkpoints it (a replay from the CLI alone).
    if (chunk % 10 === 9) conn.pragma('main.wal_checkpoint(PASSIVE)');
    await new Promise<void>((resolve) => setTimeout(resolve, PAUSE_MS));
    stopIfAborted();
  }
}

/**
 * The pause between two chunks of the copy ahead: longer than the longest sleep of SQLite's
 * busy handler (100 ms), with a margin for timers.
 *
 * SQLite has no queue for its write lock: a writer of another process (the live projector, a
 * purge's scrub) that found it taken sleeps in its busy handler (1, 2, 5 … ms, then 100 ms at a
 * time) and takes the lock only if it is free when it wakes. With a mere turn of the event loop
 * between chunks, the copy took the lock again at once: a live scrub waited 140–860 ms behind a
 * copy of 100,000 rows (measured), at worst the whole copy ahead (seconds at a million events,
 * against a busy_timeout of 5 s). A writer already waiting wakes within a pause this long, so it
 * waits at most one chunk plus one of its sleeps. The copy ahead takes ~110 ms longer per chunk
 * of CHUNK_ROWS rows (nothing waits on it: readers and writers go on meanwhile).
 */
const PAUSE_MS = 110;

/**
 * Under the switch-over's lock: the rows the shadow changed since the copy ahead are copied
 * again, then `<table>__next` replaces the live table (its planner statistics made afresh).
 */
export function replaceWithNext(
  conn: Database.Database,
  table: PrecopiedTable,
  tag: string,
  columns: readonly string[],
): void {
  const key = quote(TABLE_KEYS[table]);
  const next = `main.${quote(nextTable(table, tag))}`;
  const list = columns.map(quote).join(', ');
  const changed = `(SELECT k FROM shadow.ops_changed WHERE tbl = '${table}')`;
  conn.exec(`DELETE FROM ${next} WHERE ${key} IN ${changed}`);
  conn.exec(
    `INSERT INTO ${next} (${list}) SELECT ${list} FROM shadow.${quote(table)} WHERE ${key} IN ${changed}`,
  );
  conn.exec(`DROP TABLE main.${quote(table)}`);
  conn.exec(`ALTER TABLE ${next} RENAME TO ${quote(table)}`);
  conn.exec(`ANALYZE main.${quote(table)}`);
}
