import { Client } from 'pg';
import { SCHEMA_NAME } from './postgres-event-store.sql';

/** True for the URLs that select the PostgreSQL event log (postgres:// or postgresql://). */
export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url.trim());

export interface PostgresLocation {
  /** The URL handed to pg: the caller's, without its `schema` parameter. */
  connectionString: string;
  schema: string;
  /** Server, database and schema, without credentials (logs, in-process notifier key). */
  key: string;
}

/**
 * `postgres://…/db?schema=name` (EVENTSTORE_URL, READ_DB_URL): the tables go into `name` (created
 * if missing; default public). The parameter is ours, not pg's: removed from the URL pg gets.
 */
export function parsePostgresUrl(url: string): PostgresLocation {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'public';
  if (!SCHEMA_NAME.test(schema))
    throw new Error('schema must be lower-case letters, digits and _ (max 63)');
  parsed.searchParams.delete('schema');
  return {
    connectionString: parsed.toString(),
    schema,
    key: `postgres://${parsed.host}${parsed.pathname}#${schema}`,
  };
}

/** A connection of its own, outside the pool (migration lock, LISTEN). */
export function dedicatedClient(connectionString: string, applicationName?: string): Client {
  const client = new Client({
    connectionString,
    connectionTimeoutMillis: 5000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(applicationName ? { application_name: applicationName } : {}),
  });
  // A connection lost while idle emits 'error'; without a listener the process would crash.
  client.on('error', () => undefined);
  return client;
}
