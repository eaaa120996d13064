const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PostgresTarget {
  /** The URL pg connects to (without the `schema` parameter, which pg does not know). */
  connectionString: string;
  /** Schema of the tables (`?schema=`, default public). */
  schema: string;
}

/** Splits `postgres://…/db?schema=name` (READ_DB_URL, EVENTSTORE_URL) into server and schema. */
export function postgresTarget(url: string): PostgresTarget {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'public';
  if (!SCHEMA_NAME.test(schema))
    throw new Error('schema must be lower-case letters, digits and _ (max 63)');
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

export const isPostgresUrl = (url: string | undefined): url is string =>
  url !== undefined && /^postgres(ql)?:\/\//i.test(url);
