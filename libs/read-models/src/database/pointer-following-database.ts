import type Database from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * SQLite: the schema name the generation tables carry in compiled SQL until the statement is
 * prepared, when it becomes the generation the pointer names at that moment (none for the base
 * tables: unqualified, as DDL needs them).
 */
export const UNRESOLVED_GENERATION = 'rm$generation';
const MARK = `"${UNRESOLVED_GENERATION}".`;

/**
 * better-sqlite3 as Kysely's SqliteDialect sees it, with the generation resolved at the last
 * moment. A query is compiled when it is built, but runs only when the one connection is free
 * (behind a transaction, say): had it named its generation then, another process's replay could
 * switch the pointer and drop those tables meanwhile (the base tables go at once) and the query
 * would fail `no such table`. Here `schema()` reads the pointer and the statement is prepared in
 * the same synchronous step; should another process still drop the tables between the two, the
 * statement is prepared again on the generation the pointer then names.
 */
export class PointerFollowingDatabase implements SqliteDatabase {
  constructor(
    private readonly database: Database.Database,
    /** Follows the pointer and returns the schema of its generation (null: the base tables). */
    private readonly schema: () => string | null,
  ) {}

  close(): void {
    this.database.close();
  }

  prepare(text: string): SqliteStatement {
    if (!text.includes(MARK)) return this.database.prepare(text);
    const schema = this.schema();
    try {
      return this.statement(text, schema);
    } catch (error) {
      return this.statement(text, this.movedFrom(schema, error));
    }
  }

  private statement(text: string, schema: string | null): SqliteStatement {
    const prepared = this.database.prepare(resolve(text, schema));
    const again = (error: unknown) =>
      this.database.prepare(resolve(text, this.movedFrom(schema, error)));
    return {
      reader: prepared.reader,
      all: (parameters) => {
        try {
          return prepared.all(parameters);
        } catch (error) {
          return again(error).all(parameters);
        }
      },
      run: (parameters) => {
        try {
          return prepared.run(parameters);
        } catch (error) {
          return again(error).run(parameters);
        }
      },
      // A stream that already yielded rows cannot start again: resolved once, at prepare.
      iterate: (parameters) => prepared.iterate(parameters),
    };
  }

  /** The schema the pointer names now, when `error` came from tables a switch took away. */
  private movedFrom(schema: string | null, error: unknown): string | null {
    if (!(error instanceof Error) || !error.message.startsWith('no such table')) throw error;
    const now = this.schema();
    if (now === schema) throw error;
    return now;
  }
}

const resolve = (text: string, schema: string | null): string =>
  text.replaceAll(MARK, schema === null ? '' : `"${schema}".`);
