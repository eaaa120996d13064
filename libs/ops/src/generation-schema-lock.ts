import { connectDedicated } from '@app/read-models';

/**
 * Ownership of PostgreSQL generation schemas (`<live schema>_<generation>`). A replay holds a
 * session advisory lock keyed on its schema's name, on a connection of its own, from before it
 * creates the schema until the generation is live or dropped. PostgreSQL releases the lock when
 * that session ends, also when the replay's process is killed or its host is gone: a generation
 * schema whose lock nobody holds and that the pointer does not name belongs to no running
 * replay. The next replay drops such schemas; they can be as large as the read models and keep
 * rows that erasures scrubbed in the live generation since.
 * (SQLite generations are directories with a lock file of their own: generation-dir-owner.ts.)
 */
export interface GenerationSchemaLock {
  /**
   * Drops the generation schemas of `live` that no replay builds and readers do not use (the
   * pointer, read after the lock, names another); returns their names.
   */
  dropOrphans(live: string, isCurrent: (schema: string) => Promise<boolean>): Promise<string[]>;
  /** Releases the lock (once the generation is live or dropped) and closes the connection. */
  release(): Promise<void>;
}

/** The advisory lock key of a generation schema (two int4 keys: this use, then the name). */
const LOCK_KEY = "hashtext('rm_replay_shadow'), hashtext($1)";

/** Takes the lock of `schema` (waiting if a replay holds it: generations are unique). */
export async function lockGenerationSchema(
  readDbUrl: string,
  schema: string,
): Promise<GenerationSchemaLock> {
  // A lost connection loses the lock with it: the next query (the release) reports it.
  const client = await connectDedicated(readDbUrl);
  try {
    // The session sits idle through the build: a server-wide idle_session_timeout (PostgreSQL
    // 14+) must not end it, which would release the lock while the replay still runs.
    const { rows } = await client.query<{ v: string }>(
      "SELECT current_setting('server_version_num') AS v",
    );
    if (Number(rows[0]?.v) >= 140_000) await client.query('SET idle_session_timeout = 0');
    await client.query(`SELECT pg_advisory_lock(${LOCK_KEY})`, [schema]);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return {
    async dropOrphans(live, isCurrent) {
      const { rows } = await client.query<{ name: string }>(
        `SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1 AND nspname <> $2
         ORDER BY nspname`,
        [`${likeEscape(live)}\\_%`, schema],
      );
      // `<live>_<generation>`, or `<live>_replay_<generation>` of earlier versions.
      const generation = new RegExp(`^${escapeRegExp(live)}_(replay_)?g[0-9a-z]+$`);
      const dropped: string[] = [];
      for (const { name } of rows.filter((r) => generation.test(r.name))) {
        const { rows: got } = await client.query<{ free: boolean }>(
          `SELECT pg_try_advisory_lock(${LOCK_KEY}) AS free`,
          [name],
        );
        if (!got[0]?.free) continue; // its replay is running
        try {
          if (await isCurrent(name)) continue;
          await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
          dropped.push(name);
        } finally {
          await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [name]);
        }
      }
      return dropped;
    },
    async release() {
      try {
        await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [schema]);
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const likeEscape = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);
const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
