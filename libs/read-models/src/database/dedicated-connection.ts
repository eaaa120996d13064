import { Client } from 'pg';

/**
 * A PostgreSQL connection of its own, outside the read database's pool, to the server and
 * database of READ_DB_URL (its `schema` parameter is the read store's, not the server's): for
 * advisory locks that must live on one session (the migration lock, a replay's shadow lock).
 */
export async function connectDedicated(readDbUrl: string): Promise<Client> {
  const url = new URL(readDbUrl);
  url.searchParams.delete('schema');
  const client = new Client({
    connectionString: url.toString(),
    connectionTimeoutMillis: 5000,
    keepAlive: true,
  });
  // A connection lost while idle emits 'error': the next query on it reports the loss instead
  // (without a listener the process would crash).
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
