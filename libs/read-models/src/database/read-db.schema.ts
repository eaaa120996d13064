/**
 * Tables of the read models (Kysely types). Column names are snake_case; positions are BIGINT
 * (INTEGER in SQLite), returned as numbers by better-sqlite3 and as strings by pg: read them
 * through `positionOf`, write them through `ReadDb.pos`.
 */
export type PositionValue = number | string | bigint;

/** One row per event of the log, stored as written: personal fields stay encrypted (`$pd`). */
export interface AuditEventsTable {
  position: PositionValue;
  event_id: string;
  stream_id: string;
  revision: number;
  type: string;
  /** ISO 8601 UTC with milliseconds, so that text order is time order. */
  recorded_at: string;
  subscription_id: string | null;
  account_id: string | null;
  actor_id: string | null;
  actor_role: string | null;
  channel: string | null;
  correlation_id: string;
  causation_id: string | null;
  /** The event's data as written to the log (JSON text; encrypted personal fields included). */
  data: string;
  /** 1 when `data` holds encrypted personal fields (decrypted on read while the key exists). */
  personal: number;
  /** 1 once the encrypted fields were replaced by "[erased]" (scrubAccount/scrubSubscription). */
  scrubbed: number;
}

/** R16: one row per subscription with its folded state (no personal data in it). */
export interface SubscriptionsTable {
  subscription_id: string;
  account_id: string;
  product_id: string;
  status: string;
  /** 'active' (trial, active, cancellation_pending) or 'expired' (expired, purged). */
  section: string;
  contract: number;
  /** Last revision of the stream applied. */
  revision: number;
  /** Position of the last event applied. */
  position: PositionValue;
  /** Position of SubscriptionRegistered: the list's order within a section. */
  registered_position: PositionValue;
  expires_at: string | null;
  purge_at: string | null;
  purged_at: string | null;
  /** JSON of the RegisteredSubscription state (evolve of the domain). */
  state: string;
  updated_at: string;
}

export interface AccountsTable {
  account_id: string;
  revision: number;
  position: PositionValue;
  legal_hold: number;
  hold_id: string | null;
  last_erased_at: string | null;
}

/** Receipts of ProductDataPurged: what was deleted, where, when, by which job (no personal data). */
export interface PurgeReceiptsTable {
  position: PositionValue;
  event_id: string;
  purge_id: string;
  subscription_id: string;
  account_id: string;
  product_id: string;
  expires_at: string;
  purge_at: string;
  purged_at: string;
  /** JSON of the PurgeReceipt. */
  receipt: string;
  command_id: string | null;
  correlation_id: string;
  causation_id: string | null;
  actor_id: string | null;
  actor_role: string | null;
  channel: string | null;
  /** D11: the receipt's place in the signed chain (null until the projector links it). */
  sequence: number | null;
  previous_hash: string | null;
  signature_kid: string | null;
  signature_value: string | null;
  /** hex sha256 of the canonical signed receipt: the next receipt's previous_hash. */
  receipt_hash: string | null;
}

/** R16 confirmations for contract customers: the notifier's outbox, one row per event. */
export interface ConfirmationsTable {
  /** The CancellationRequested event's id: the deduplication key end to end. */
  event_id: string;
  position: PositionValue;
  account_id: string;
  subscription_id: string;
  product_id: string;
  subject: string;
  body: string;
  recorded_at: string;
  /** 'pending' (not yet delivered by a sender), 'delivered', 'failed' (retrying). */
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  delivered_at: string | null;
  last_error: string | null;
}

/** The integration events (public schema), one per fact that publishes one, in log order. */
export interface IntegrationEventsTable {
  position: PositionValue;
  /** `evt_<event id>`. */
  id: string;
  type: string;
  account_id: string;
  subscription_id: string | null;
  occurred_at: string;
  /** JSON of the IntegrationEvent envelope, as the feed and the webhooks send it. */
  body: string;
}

export interface CheckpointsTable {
  name: string;
  position: PositionValue;
  updated_at: string;
}

/** Scrub markers: rows projected after a scrub are stored scrubbed too. */
export interface ScrubsTable {
  scope: string;
  id: string;
  scrubbed_at: string;
}

/**
 * Replays started over HTTP (one row per job handle, the most recent kept). Not a read model:
 * a replay neither rebuilds nor swaps it.
 */
export interface OpsReplaysTable {
  /** `replay-<uuid>`: the handle's id. */
  id: string;
  /** 'running', 'succeeded' or 'failed'. */
  status: string;
  projection: string;
  /** 1 for a dry run. */
  dry_run: number;
  started_at: string;
  finished_at: string | null;
  /** JSON of the ReplayProgress (events, done, total), written with each heartbeat. */
  progress: string;
  /** JSON of the ReplayReport once succeeded. */
  report: string | null;
  error: string | null;
  /** The process that runs (ran) it: `hostname/pid`. */
  owner: string;
  /** Last sign of life of that process while running (ISO 8601 UTC). */
  heartbeat_at: string;
}

/**
 * A webhook endpoint (POST /v1/webhook-endpoints). Not a read model: no replay rebuilds it.
 */
export interface WebhookEndpointsTable {
  /** `we_<random>`. */
  id: string;
  url: string;
  /** JSON array of integration-event types, or `["*"]`. */
  types: string;
  description: string | null;
  /**
   * The signing key's bytes, base64: wrapped under KEY_ENCRYPTION_KEY (AES-256-GCM) when
   * `secret_wrapped` is 1, as is when no such key is configured (0).
   */
  secret: string;
  secret_wrapped: number;
  /** 'enabled'. */
  status: string;
  created_at: string;
  /** The log's head when the endpoint was created: it receives the events after it. */
  start_position: PositionValue;
  /** Deliveries are made for integration events up to here (never moves back). */
  cursor: PositionValue;
}

/** One delivery of one integration event to one endpoint, with its progress. */
export interface WebhookDeliveriesTable {
  /** `dlv_<random>`. */
  id: string;
  endpoint_id: string;
  /** The integration event's id (`evt_…`): the `webhook-id` header. */
  event_id: string;
  position: PositionValue;
  type: string;
  /** `s:<subscriptionId>` or `a:<accountId>`: deliveries of one key go out in position order. */
  order_key: string;
  /** The envelope JSON, exactly as signed and sent. */
  body: string;
  /** 'pending', 'delivered' or 'failed' (retry window over). */
  status: string;
  attempts: number;
  last_status_code: number | null;
  /** Short and without response bodies. */
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
  /** Where the retry window counts from: creation, or the last manual retry. */
  window_started_at: string;
  updated_at: string;
}

/** The one row naming the generation of the read models readers use (null: the base tables). */
export interface GenerationPointerTable {
  id: number;
  generation: string | null;
  switched_at: string | null;
  version: number;
}

export interface ReadDatabase {
  rm_generation: GenerationPointerTable;
  rm_audit_events: AuditEventsTable;
  rm_subscriptions: SubscriptionsTable;
  rm_accounts: AccountsTable;
  rm_purge_receipts: PurgeReceiptsTable;
  rm_confirmations: ConfirmationsTable;
  rm_integration_events: IntegrationEventsTable;
  rm_checkpoints: CheckpointsTable;
  rm_scrubs: ScrubsTable;
  ops_replays: OpsReplaysTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

export const positionOf = (value: PositionValue): bigint => BigInt(value);
