import type { Database, Statement } from 'better-sqlite3';

/** What Kysely's SqliteDialect asks of a database (its `SqliteDatabase`). */
export interface PreparingDatabase {
  close(): void;
  prepare(sql: string): Statement;
}

/**
 * `database` for Kysely's SqliteDialect with its prepared statements kept: the dialect prepares
 * every query anew (parsing and planning the SQL each time). Kysely runs one query at a time on
 * its connection, so a cached statement is never in use twice. At most `max` statements are kept,
 * the least recently used going first (a multi-row INSERT has one SQL text per row count).
 * Used for the schedule table. Not for the read models, whose SQL names their generation only
 * when it is prepared (PointerFollowingDatabase in libs/read-models).
 */
export function withStatementCache(database: Database, max = 256): PreparingDatabase {
  const statements = new Map<string, Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string): Statement {
      let statement = statements.get(sql);
      if (statement) statements.delete(sql);
      else {
        statement = database.prepare(sql);
        if (statements.size >= max) statements.delete(statements.keys().next().value!);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}
