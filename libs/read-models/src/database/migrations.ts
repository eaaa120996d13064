import { type Kysely, type Migration, type MigrationResultSet, Migrator, sql } from 'kysely';
import type { ReadDialect } from './read-db';

/**
 * The read models' schema, in order. Never edit a migration that shipped: add the next one.
 * Types differ by dialect only where they must: a SQLite INTEGER PRIMARY KEY is the rowid (the
 * fastest key), PostgreSQL needs BIGINT for KurrentDB commit positions.
 */
function migrations(dialect: ReadDialect): Record<string, Migration> {
  const position = dialect === 'sqlite' ? 'integer' : 'bigint';
  return {
    '001_read_models': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('rm_audit_events')
          .addColumn('position', position, (c) => c.primaryKey())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('stream_id', 'text', (c) => c.notNull())
          .addColumn('revision', 'integer', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('recorded_at', 'text', (c) => c.notNull())
          .addColumn('subscription_id', 'text')
          .addColumn('account_id', 'text')
          .addColumn('actor_id', 'text')
          .addColumn('actor_role', 'text')
          .addColumn('channel', 'text')
          .addColumn('correlation_id', 'text', (c) => c.notNull())
          .addColumn('causation_id', 'text')
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('personal', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('scrubbed', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        // Every filter of GET /v1/audit/events, each with position for keyset pagination.
        for (const column of ['account_id', 'subscription_id', 'actor_id', 'type', 'recorded_at'])
          await db.schema
            .createIndex(`rm_audit_events_${column}`)
            .on('rm_audit_events')
            .columns([column, 'position'])
            .execute();

        await db.schema
          .createTable('rm_subscriptions')
          .addColumn('subscription_id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('product_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('section', 'text', (c) => c.notNull())
          .addColumn('contract', 'integer', (c) => c.notNull())
          .addColumn('revision', 'integer', (c) => c.notNull())
          .addColumn('position', position, (c) => c.notNull())
          .addColumn('registered_position', position, (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('purge_at', 'text')
          .addColumn('purged_at', 'text')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('rm_subscriptions_account')
          .on('rm_subscriptions')
          .columns(['account_id', 'section', 'registered_position'])
          .execute();
        // For the lifecycle reconciler: what is due to expire / to be purged.
        await db.schema
          .createIndex('rm_subscriptions_expiry')
          .on('rm_subscriptions')
          .columns(['status', 'expires_at'])
          .execute();
        await db.schema
          .createIndex('rm_subscriptions_purge')
          .on('rm_subscriptions')
          .columns(['status', 'purge_at'])
          .execute();

        await db.schema
          .createTable('rm_accounts')
          .addColumn('account_id', 'text', (c) => c.primaryKey())
          .addColumn('revision', 'integer', (c) => c.notNull())
          .addColumn('position', position, (c) => c.notNull())
          .addColumn('legal_hold', 'integer', (c) => c.notNull())
          .addColumn('hold_id', 'text')
          .addColumn('last_erased_at', 'text')
          .execute();

        await db.schema
          .createTable('rm_purge_receipts')
          .addColumn('position', position, (c) => c.primaryKey())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('purge_id', 'text', (c) => c.notNull())
          .addColumn('subscription_id', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('product_id', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('purge_at', 'text', (c) => c.notNull())
          .addColumn('purged_at', 'text', (c) => c.notNull())
          .addColumn('receipt', 'text', (c) => c.notNull())
          .addColumn('command_id', 'text')
          .addColumn('correlation_id', 'text', (c) => c.notNull())
          .addColumn('causation_id', 'text')
          .addColumn('actor_id', 'text')
          .addColumn('actor_role', 'text')
          .addColumn('channel', 'text')
          .execute();
        await db.schema
          .createIndex('rm_purge_receipts_purged_at')
          .on('rm_purge_receipts')
          .columns(['purged_at', 'position'])
          .execute();

        await db.schema
          .createTable('rm_confirmations')
          .addColumn('event_id', 'text', (c) => c.primaryKey())
          .addColumn('position', position, (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('subscription_id', 'text', (c) => c.notNull())
          .addColumn('product_id', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('recorded_at', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', 'text')
          .addColumn('delivered_at', 'text')
          .addColumn('last_error', 'text')
          .execute();
        await db.schema
          .createIndex('rm_confirmations_account')
          .on('rm_confirmations')
          .columns(['account_id', 'position'])
          .execute();
        await db.schema
          .createIndex('rm_confirmations_due')
          .on('rm_confirmations')
          .columns(['status', 'next_attempt_at'])
          .execute();

        await db.schema
          .createTable('rm_checkpoints')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('position', position, (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('rm_scrubs')
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('scrubbed_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('rm_scrubs_pk', ['scope', 'id'])
          .execute();
      },
    },
    // Replays started over HTTP (POST /v1/ops/replay): shared by every api replica, kept across
    // restarts. Not a read model: no replay rebuilds, swaps, checksums or verifies it. Times are
    // ISO 8601 UTC text (text order is time order), progress and report JSON text, dry_run 0/1:
    // the same types in both dialects.
    '002_ops_replays': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('ops_replays')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('projection', 'text', (c) => c.notNull())
          .addColumn('dry_run', 'integer', (c) => c.notNull())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .addColumn('progress', 'text', (c) => c.notNull())
          .addColumn('report', 'text')
          .addColumn('error', 'text')
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('heartbeat_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    // The integration events (the public schema, docs/integration-events.md), one row per fact
    // that publishes one: the feed's keyset (position) and type filter, the webhooks' source.
    '003_integration_events': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('rm_integration_events')
          .addColumn('position', position, (c) => c.primaryKey())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('subscription_id', 'text')
          .addColumn('occurred_at', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('rm_integration_events_type')
          .on('rm_integration_events')
          .columns(['type', 'position'])
          .execute();
      },
    },
    // Webhook endpoints and their deliveries (libs/webhooks, docs/webhooks.md). Not read models:
    // operator-made state and delivery progress that no replay rebuilds, swaps, checksums or
    // verifies (like ops_replays); a replay keeps them as they are. `cursor` is the position of
    // the last integration event an endpoint's deliveries were made from (its start: the log's
    // head when it was created). A delivery is keyed once per endpoint and event.
    '004_webhooks': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('webhook_endpoints')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('types', 'text', (c) => c.notNull())
          .addColumn('description', 'text')
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('secret_wrapped', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('start_position', position, (c) => c.notNull())
          .addColumn('cursor', position, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('webhook_deliveries')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('endpoint_id', 'text', (c) => c.notNull())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('position', position, (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('order_key', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('last_status_code', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('next_attempt_at', 'text')
          .addColumn('delivered_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('window_started_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('webhook_deliveries_endpoint_event', ['endpoint_id', 'event_id'])
          .execute();
        // The list (by endpoint, position: keyset) and the dispatcher's pending scan.
        await db.schema
          .createIndex('webhook_deliveries_endpoint_position')
          .on('webhook_deliveries')
          .columns(['endpoint_id', 'position'])
          .execute();
        await db.schema
          .createIndex('webhook_deliveries_endpoint_status')
          .on('webhook_deliveries')
          .columns(['endpoint_id', 'status', 'position'])
          .execute();
        // The pending deliveries of every endpoint, oldest first (the metrics).
        await db.schema
          .createIndex('webhook_deliveries_status_created')
          .on('webhook_deliveries')
          .columns(['status', 'created_at'])
          .execute();
        // Whether a key has an earlier pending delivery (the dispatcher sends a key's first only).
        await db.schema
          .createIndex('webhook_deliveries_endpoint_key')
          .on('webhook_deliveries')
          .columns(['endpoint_id', 'order_key', 'status', 'position'])
          .execute();
      },
    },
    // D11: each purge receipt's place in the signed chain (docs/receipts.md), set by the
    // projector in log order: sequence 1, 2, 3…, the hash of the receipt before, the Ed25519
    // signature of the receipt with both, and this receipt's own hash (the next one's
    // previous_hash). NULL until linked; the API shows linked receipts only. The unique index
    // guards the sequence and finds the receipts still to link.
    '005_receipt_signatures': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('rm_purge_receipts').addColumn('sequence', 'integer').execute();
        for (const column of ['previous_hash', 'signature_kid', 'signature_value', 'receipt_hash'])
          await db.schema.alterTable('rm_purge_receipts').addColumn(column, 'text').execute();
        await db.schema
          .createIndex('rm_purge_receipts_sequence')
          .on('rm_purge_receipts')
          .column('sequence')
          .unique()
          .execute();
      },
    },
    // The generation pointer (generation.ts): which generation of the read models readers use.
    // NULL: the tables of this schema or file, as before any replay into a generation.
    '006_generation_pointer': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('rm_generation')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('generation', 'text')
          .addColumn('switched_at', 'text')
          // Counts the switches: a process never moves back to an older pointer it read late.
          .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await sql`insert into rm_generation (id, generation, switched_at) values (1, null, null)`.execute(
          db,
        );
      },
    },
  };
}

export class ReadModelMigrationError extends Error {
  constructor(
    readonly migration: string | null,
    cause: unknown,
  ) {
    super(
      `Read-model migration ${migration ?? '(unknown)'} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'ReadModelMigrationError';
  }
}

/**
 * Brings the schema to the latest migration (idempotent). Safe when several processes (api and
 * worker replicas) open a fresh database at the same moment:
 * - SQLite: Kysely takes no lock there (it assumes a single connection), so the migrations run
 *   inside one `BEGIN IMMEDIATE` write transaction: a second process waits for the first (up to
 *   the connection's busy_timeout), then finds the migrations recorded (Kysely reads the executed
 *   migrations inside the transaction) and does nothing. A failed migration leaves nothing behind.
 * - PostgreSQL: Kysely serialises the migrations themselves (a session advisory lock, then one
 *   transaction); the caller must hold `pg_advisory_xact_lock` for the schema around creating the
 *   schema and calling this (see ReadDb.open), which also covers Kysely's own set-up statements
 *   (its migration and lock tables are created before its lock is taken).
 */
export async function migrateReadModels(
  db: Kysely<unknown>,
  dialect: ReadDialect,
  schema: string | null,
): Promise<string[]> {
  const migrator = new Migrator({
    db: dialect === 'postgres' && schema ? introspectingOnly(db, schema) : db,
    provider: { getMigrations: async () => migrations(dialect) },
    migrationTableName: 'rm_migrations',
    migrationLockTableName: 'rm_migrations_lock',
    // Named explicitly: Kysely otherwise finds the table of another schema of the same database.
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  if (dialect === 'postgres') return applied(await migrator.migrateToLatest());

  // Every start after the first: nothing pending, no write lock taken (a replica starting while
  // the projector writes does not wait for it).
  if ((await migrator.getMigrations()).every((m) => m.executedAt)) return [];
  // On Kysely's one SQLite connection, so the migrator's statements run inside it (ReadDb.open
  // migrates before anything else uses the connection).
  await sql`begin immediate`.execute(db);
  let result: MigrationResultSet;
  try {
    result = await migrator.migrateToLatest();
  } catch (error) {
    result = { error };
  }
  if (result.error) {
    // SQLite may already have rolled back (e.g. disk full): then there is nothing to undo.
    await sql`rollback`.execute(db).catch(() => undefined);
    return applied(result);
  }
  await sql`commit`.execute(db);
  return applied(result);
}

/**
 * The database as Kysely's migrator sees it, with an introspection of one schema. Its own
 * introspection lists the tables of every schema of the database with a function per column
 * (`pg_get_serial_sequence`) that fails when another schema's table is dropped meanwhile: another
 * tenant, test or replay dropping its schema then failed this start. The migrator only asks which
 * schemas and tables exist, so that is all this answers, for `schema` alone.
 */
function introspectingOnly(db: Kysely<unknown>, schema: string): Kysely<unknown> {
  const introspection = {
    getSchemas: async () =>
      (
        await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace
          where nspname = ${schema}`.execute(db)
      ).rows,
    getTables: async () =>
      (
        await sql<{ name: string }>`select tablename as name from pg_catalog.pg_tables
          where schemaname = ${schema}`.execute(db)
      ).rows.map((r) => ({ name: r.name, schema, isView: false, columns: [] })),
    getMetadata: async () => ({ tables: [] }),
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === 'introspection') return introspection;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

function applied({ error, results }: MigrationResultSet): string[] {
  const failed = results?.find((r) => r.status === 'Error');
  if (error) throw new ReadModelMigrationError(failed?.migrationName ?? null, error);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** A statement that proves the database answers (readiness). */
export async function pingReadDb(db: Kysely<unknown>): Promise<void> {
  await sql`select 1`.execute(db);
}
