import { randomBytes } from 'node:crypto';
import { unwrapDataKey, wrapDataKey } from '@app/event-store';
import {
  type ReadDb,
  readCheckpoint,
  type WebhookDeliveriesTable,
  type WebhookEndpointsTable,
} from '@app/read-models';

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** An endpoint as the API shows it (never with its secret, but at creation). */
export interface WebhookEndpointView {
  id: string;
  url: string;
  types: string[];
  description: string | null;
  status: 'enabled';
  createdAt: string;
  /** The log's head at creation: the endpoint receives the events after it. */
  startPosition: string;
}

export interface CreatedWebhookEndpoint extends WebhookEndpointView {
  /** `whsec_<base64>`: shown once, in the answer to the creation. */
  secret: string;
}

export interface WebhookDeliveryView {
  id: string;
  endpointId: string;
  eventId: string;
  type: string;
  position: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

/** What the dispatcher needs to send to an endpoint. */
export interface EndpointTarget {
  id: string;
  url: string;
  key: Uint8Array;
}

export type DeliveryRow = WebhookDeliveriesTable;

/** A delivery the receiver accepted, to be recorded; `version` is the row's updated_at when sent. */
export interface AcceptedDelivery {
  id: string;
  statusCode: number;
  at: Date;
  version: string;
}

export const toEndpointView = (row: WebhookEndpointsTable): WebhookEndpointView => ({
  id: row.id,
  url: row.url,
  types: JSON.parse(row.types) as string[],
  description: row.description,
  status: 'enabled',
  createdAt: row.created_at,
  startPosition: String(row.start_position),
});

export const toDeliveryView = (row: WebhookDeliveriesTable): WebhookDeliveryView => ({
  id: row.id,
  endpointId: row.endpoint_id,
  eventId: row.event_id,
  type: row.type,
  position: String(row.position),
  status: row.status as DeliveryStatus,
  attempts: row.attempts,
  lastStatusCode: row.last_status_code,
  lastError: row.last_error,
  nextAttemptAt: row.next_attempt_at,
  deliveredAt: row.delivered_at,
  createdAt: row.created_at,
});

/** The key-wrapping context of endpoint secrets (AAD beside the endpoint id). */
const SECRET_CONTEXT = 'webhook-endpoint';
const SECRET_BYTES = 32;

/**
 * Webhook endpoints and deliveries in the read database (SQLite or PostgreSQL). These tables are
 * not read models: no replay rebuilds them. An endpoint's secret is stored wrapped under
 * KEY_ENCRYPTION_KEY when one is configured, so that a copy of the read database alone does not
 * reveal it.
 */
export class WebhookStore {
  constructor(
    readonly readDb: ReadDb,
    private readonly keyEncryptionKey: Buffer | undefined,
  ) {}

  private get db() {
    return this.readDb.db;
  }

  async createEndpoint(
    input: { url: string; types: string[]; description: string | null },
    headPosition: bigint,
    now: Date,
  ): Promise<CreatedWebhookEndpoint> {
    const id = `we_${randomBytes(12).toString('hex')}`;
    const key = randomBytes(SECRET_BYTES);
    const kek = this.keyEncryptionKey;
    const row: WebhookEndpointsTable = {
      id,
      url: input.url,
      types: JSON.stringify(input.types),
      description: input.description,
      secret: (kek ? wrapDataKey(kek, id, SECRET_CONTEXT, key) : key).toString('base64'),
      secret_wrapped: kek ? 1 : 0,
      status: 'enabled',
      created_at: now.toISOString(),
      start_position: this.readDb.pos(headPosition),
      cursor: this.readDb.pos(headPosition),
    };
    await this.db.insertInto('webhook_endpoints').values(row).execute();
    return { ...toEndpointView(row), secret: `whsec_${key.toString('base64')}` };
  }

  async listEndpoints(): Promise<WebhookEndpointView[]> {
    const rows = await this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toEndpointView);
  }

  async endpointIds(): Promise<string[]> {
    const rows = await this.db.selectFrom('webhook_endpoints').select('id').execute();
    return rows.map((r) => r.id);
  }

  async getEndpoint(id: string): Promise<WebhookEndpointView | null> {
    const row = await this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toEndpointView(row) : null;
  }

  /** Removes the endpoint and its deliveries; returns what was removed (null: none). */
  async deleteEndpoint(id: string): Promise<WebhookEndpointView | null> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .deleteFrom('webhook_endpoints')
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      if (!row) return null;
      await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
      return toEndpointView(row);
    });
  }

  async target(id: string): Promise<EndpointTarget | null> {
    const row = await this.db
      .selectFrom('webhook_endpoints')
      .select(['id', 'url', 'secret', 'secret_wrapped'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return null;
    const stored = Buffer.from(row.secret, 'base64');
    if (!row.secret_wrapped) return { id: row.id, url: row.url, key: stored };
    if (!this.keyEncryptionKey)
      throw new Error(
        `webhook endpoint ${id}: its secret is wrapped and no KEY_ENCRYPTION_KEY is set`,
      );
    return {
      id: row.id,
      url: row.url,
      key: unwrapDataKey(this.keyEncryptionKey, row.id, SECRET_CONTEXT, stored),
    };
  }

  /**
   * Makes the deliveries of the next integration events for the endpoint, in one transaction
   * with the move of its cursor: only events up to the read models' checkpoint (complete there),
   * at most `limit` of them, those of the endpoint's types. A crash loses none (the cursor moves
   * with them) and a repeat duplicates none (one delivery per endpoint and event).
   * Returns how many events were looked at, or null when the endpoint is gone.
   */
  async materialize(endpointId: string, now: Date, limit = 500): Promise<number | null> {
    // Without a lock first: an endpoint with nothing new (most polls) takes no write lock.
    const [endpoint, checkpoint] = await Promise.all([
      this.db
        .selectFrom('webhook_endpoints')
        .select('cursor')
        .where('id', '=', endpointId)
        .executeTakeFirst(),
      readCheckpoint(this.db),
    ]);
    if (!endpoint) return null;
    if (checkpoint === null || checkpoint <= BigInt(endpoint.cursor)) return 0;
    // One generation of the read models for the checkpoint and the rows it covers.
    return this.readDb.transaction(async (trx) => {
      // A write first: on SQLite it takes the write lock before anything is read (a read
      // transaction that later writes fails at once when another process committed meanwhile);
      // on PostgreSQL it locks the endpoint's row for the transaction.
      const endpoint = await trx
        .updateTable('webhook_endpoints')
        .set((eb) => ({ cursor: eb.ref('cursor') }))
        .where('id', '=', endpointId)
        .returning(['cursor', 'types'])
        .executeTakeFirst();
      if (!endpoint) return null;
      const cursor = BigInt(endpoint.cursor);
      const checkpoint = await readCheckpoint(trx);
      if (checkpoint === null || checkpoint <= cursor) return 0;
      const rows = await trx
        .selectFrom('rm_integration_events')
        .select(['position', 'id', 'type', 'account_id', 'subscription_id', 'body'])
        .where('position', '>', this.readDb.pos(cursor))
        .where('position', '<=', this.readDb.pos(checkpoint))
        .orderBy('position', 'asc')
        .limit(limit)
        .execute();
      const types = JSON.parse(endpoint.types) as string[];
      const all = types.includes('*');
      const at = now.toISOString();
      const values = rows
        .filter((r) => all || types.includes(r.type))
        .map((r): WebhookDeliveriesTable => ({
          id: `dlv_${randomBytes(12).toString('hex')}`,
          endpoint_id: endpointId,
          event_id: r.id,
          position: this.readDb.pos(BigInt(r.position)),
          type: r.type,
          order_key: r.subscription_id ? `s:${r.subscription_id}` : `a:${r.account_id}`,
          body: r.body,
          status: 'pending',
          attempts: 0,
          last_status_code: null,
          last_error: null,
          next_attempt_at: at,
          delivered_at: null,
          created_at: at,
          window_started_at: at,
          updated_at: at,
        }));
      for (let i = 0; i < values.length; i += 100)
        await trx
          .insertInto('webhook_deliveries')
          .values(values.slice(i, i + 100))
          .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing())
          .execute();
      const next = rows.length === limit ? BigInt(rows[rows.length - 1]!.position) : checkpoint;
      await trx
        .updateTable('webhook_endpoints')
        .set({ cursor: this.readDb.pos(next) })
        .where('id', '=', endpointId)
        .where('cursor', '<', this.readDb.pos(next))
        .execute();
      return rows.length;
    });
  }

  /**
   * The deliveries that may go now, oldest first: pending, due, and the first pending delivery
   * of their key (a key waiting for a retry holds back its own later deliveries, no other's).
   */
  async sendable(endpointId: string, now: Date, limit: number): Promise<DeliveryRow[]> {
    return this.db
      .selectFrom('webhook_deliveries as d')
      .selectAll('d')
      .where('d.endpoint_id', '=', endpointId)
      .where('d.status', '=', 'pending')
      .where('d.next_attempt_at', '<=', now.toISOString())
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('webhook_deliveries as e')
              .select('e.id')
              .whereRef('e.endpoint_id', '=', 'd.endpoint_id')
              .whereRef('e.order_key', '=', 'd.order_key')
              .where('e.status', '=', 'pending')
              .whereRef('e.position', '<', 'd.position'),
          ),
        ),
      )
      .orderBy('d.position', 'asc')
      .limit(limit)
      .execute();
  }

  /**
   * Deliveries the receivers accepted, recorded in one transaction (one commit for many). Each
   * only if the row is still as it was sent (`version`: its updated_at): a manual retry made
   * meanwhile stands, and the delivery goes again.
   */
  async markDelivered(delivered: readonly AcceptedDelivery[]): Promise<void> {
    if (delivered.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const { id, statusCode, at, version } of delivered) {
        const when = at.toISOString();
        await trx
          .updateTable('webhook_deliveries')
          .set((eb) => ({
            status: 'delivered',
            attempts: eb('attempts', '+', 1),
            last_status_code: statusCode,
            last_error: null,
            next_attempt_at: null,
            delivered_at: when,
            updated_at: when,
          }))
          .where('id', '=', id)
          .where('status', '=', 'pending')
          .where('updated_at', '=', version)
          .execute();
      }
    });
  }

  /**
   * A failed attempt of `row`: retried at `nextAttemptAt`, or failed for good when it is null;
   * recorded only if the row is still as it was sent (markDelivered).
   */
  async markAttemptFailed(
    row: Pick<DeliveryRow, 'id' | 'updated_at'>,
    attempt: { statusCode: number | null; error: string | null },
    nextAttemptAt: Date | null,
    now: Date,
  ): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        status: nextAttemptAt ? 'pending' : 'failed',
        attempts: eb('attempts', '+', 1),
        last_status_code: attempt.statusCode,
        last_error: attempt.error,
        next_attempt_at: nextAttemptAt ? nextAttemptAt.toISOString() : null,
        updated_at: now.toISOString(),
      }))
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .where('updated_at', '=', row.updated_at)
      .execute();
  }

  /** A page of the endpoint's deliveries in log order, keyset on the position. */
  async deliveries(
    endpointId: string,
    q: { status?: DeliveryStatus | undefined; after: bigint | null; limit: number },
  ): Promise<DeliveryRow[]> {
    let query = this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('endpoint_id', '=', endpointId);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.after !== null) query = query.where('position', '>', this.readDb.pos(q.after));
    return query.orderBy('position', 'asc').limit(q.limit).execute();
  }

  /**
   * Sends a delivery again, whatever its status: pending, due now, with a new retry window.
   * Null when the endpoint has no such delivery.
   */
  async retry(endpointId: string, deliveryId: string, now: Date): Promise<DeliveryRow | null> {
    const at = now.toISOString();
    await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', next_attempt_at: at, window_started_at: at, updated_at: at })
      .where('id', '=', deliveryId)
      .where('endpoint_id', '=', endpointId)
      .execute();
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', deliveryId)
      .where('endpoint_id', '=', endpointId)
      .executeTakeFirst();
    return row ?? null;
  }

  /** Pending deliveries of every endpoint, and when the oldest of them was made. */
  async pendingSummary(): Promise<{ count: number; oldestCreatedAt: string | null }> {
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('count'),
        eb.fn.min('created_at').as('oldest'),
      ])
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return {
      count: Number(row?.count ?? 0),
      oldestCreatedAt: (row?.oldest as string | null | undefined) ?? null,
    };
  }
}
