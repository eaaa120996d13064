import { Pool } from 'pg';
import { parsePostgresUrl } from '@app/event-store';

/**
 * One table of the shared state in READ_DB_URL's schema: a small pool of its own and its creation,
 * once per process, under the schema lock every part that creates tables there takes (read
 * models, keys, schedule, log): processes starting together take turns, since concurrent
 * CREATE SCHEMA / CREATE TABLE … IF NOT EXISTS collide in PostgreSQL.
 */
export class SharedTable {
  readonly pool: Pool;
  /** The table's qualified, quoted name. */
  readonly name: string;
  private readonly schema: string;
  private created: Promise<void> | null = null;

  constructor(
    url: string,
    table: string,
    /** The CREATE TABLE IF NOT EXISTS statement; `$table` stands for the qualified name. */
    private readonly ddl: string,
    poolSize: number,
  ) {
    const target = parsePostgresUrl(url);
    this.schema = target.schema;
    this.name = `"${target.schema}".${table}`;
    this.pool = new Pool({
      connectionString: target.connectionString,
      max: poolSize,
      connectionTimeoutMillis: 5000,
    });
    // An idle connection lost must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  /** Creates schema and table on first use; a failed attempt is retried by the next call. */
  ready(): Promise<void> {
    this.created ??= this.create().catch((error: unknown) => {
      this.created = null;
      throw error;
    });
    return this.created;
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  private async create(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('rm_migrations'), hashtext($1))", [
        this.schema,
      ]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await client.query(this.ddl.replaceAll('$table', this.name));
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
