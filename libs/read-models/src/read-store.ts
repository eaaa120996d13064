import type { RegisteredSubscription } from '@app/domain';
import type { Kysely, Transaction } from 'kysely';
import type { ReadDb } from './database/read-db';
import type {
  AuditEventsTable,
  ConfirmationsTable,
  PurgeReceiptsTable,
  ReadDatabase,
} from './database/read-db.schema';
import { scrubEncryptedFields } from './projection/scrub';

/** The one projection name: every read model is updated in the same transaction. */
export const READ_MODELS_PROJECTION = 'read-models';

/**
 * The position a projection has caught up to (null: nothing projected yet), read on the read
 * database or inside a transaction of it.
 */
export async function readCheckpoint(
  db: Kysely<ReadDatabase> | Transaction<ReadDatabase>,
  name = READ_MODELS_PROJECTION,
): Promise<bigint | null> {
  const row = await db
    .selectFrom('rm_checkpoints')
    .select('position')
    .where('name', '=', name)
    .executeTakeFirst();
  return row ? BigInt(row.position) : null;
}

export interface AuditFilter {
  accountId?: string | undefined;
  subscriptionId?: string | undefined;
  actorId?: string | undefined;
  types?: readonly string[] | undefined;
  /** Inclusive, ISO 8601 UTC with milliseconds. */
  from?: string | undefined;
  /** Exclusive, ISO 8601 UTC with milliseconds. */
  to?: string | undefined;
}

export interface PageRequest {
  /** Exclusive lower bound on position (the cursor). */
  after?: bigint | null | undefined;
  /** Inclusive upper bound on position (an export's snapshot of the head). */
  upTo?: bigint | null | undefined;
  limit: number;
}

export interface PurgeFilter {
  accountId?: string | undefined;
  subscriptionId?: string | undefined;
  /** Inclusive bound on purgedAt. */
  from?: string | undefined;
  /** Exclusive bound on purgedAt. */
  to?: string | undefined;
  /** D11: only receipts linked into the signed chain (what the API shows). */
  linkedOnly?: boolean;
}

export interface ListedSubscription {
  state: RegisteredSubscription;
  revision: number;
  legalHold: boolean;
  section: 'active' | 'expired';
  position: bigint;
}

/**
 * Queries over the read models, and the scrubbing that purge (R15) and erasure (R17) call.
 * Writes come from ReadModelProjection only.
 */
export class ReadStore {
  constructor(readonly readDb: ReadDb) {}

  private get db() {
    return this.readDb.db;
  }

  /** The position every read model has caught up to (null: nothing projected yet). */
  checkpoint(name = READ_MODELS_PROJECTION): Promise<bigint | null> {
    return readCheckpoint(this.db, name);
  }

  async resetCheckpoint(name = READ_MODELS_PROJECTION): Promise<void> {
    await this.readDb.writeTransaction((trx) =>
      trx.deleteFrom('rm_checkpoints').where('name', '=', name).execute(),
    );
  }

  /** Audit rows matching the filter, oldest first, keyset-paginated on position. */
  async auditRows(filter: AuditFilter, page: PageRequest): Promise<AuditEventsTable[]> {
    let q = this.db.selectFrom('rm_audit_events').selectAll();
    if (filter.accountId !== undefined) q = q.where('account_id', '=', filter.accountId);
    if (filter.subscriptionId !== undefined)
      q = q.where('subscription_id', '=', filter.subscriptionId);
    if (filter.actorId !== undefined) q = q.where('actor_id', '=', filter.actorId);
    if (filter.types && filter.types.length > 0) q = q.where('type', 'in', [...filter.types]);
    if (filter.from !== undefined) q = q.where('recorded_at', '>=', filter.from);
    if (filter.to !== undefined) q = q.where('recorded_at', '<', filter.to);
    if (page.after !== undefined && page.after !== null)
      q = q.where('position', '>', this.readDb.pos(page.after));
    if (page.upTo !== undefined && page.upTo !== null)
      q = q.where('position', '<=', this.readDb.pos(page.upTo));
    return q.orderBy('position', 'asc').limit(page.limit).execute();
  }

  /** Position of the newest audit row (an export streams up to it, so it ends). */
  async auditHead(): Promise<bigint | null> {
    const row = await this.db
      .selectFrom('rm_audit_events')
      .select((eb) => eb.fn.max('position').as('head'))
      .executeTakeFirst();
    return row?.head === null || row?.head === undefined ? null : BigInt(row.head);
  }

  /** Whether the read models hold any subscription of this account (one row looked up). */
  async hasSubscriptions(accountId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('rm_subscriptions')
      .select('subscription_id')
      .where('account_id', '=', accountId)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** R16: an account's subscriptions, active section first, each in registration order. */
  async subscriptionsOf(
    accountId: string,
    statuses?: readonly string[],
  ): Promise<ListedSubscription[]> {
    let q = this.db
      .selectFrom('rm_subscriptions as s')
      .leftJoin('rm_accounts as a', 'a.account_id', 's.account_id')
      .select([
        's.state',
        's.revision',
        's.section',
        's.position',
        's.registered_position',
        'a.legal_hold',
      ])
      .where('s.account_id', '=', accountId);
    if (statuses && statuses.length > 0) q = q.where('s.status', 'in', [...statuses]);
    const rows = await q.execute();
    return rows
      .map((r) => ({
        state: JSON.parse(r.state) as RegisteredSubscription,
        revision: r.revision,
        legalHold: Boolean(r.legal_hold),
        section: r.section as 'active' | 'expired',
        position: BigInt(r.position),
        order: BigInt(r.registered_position),
      }))
      .sort((a, b) =>
        a.section !== b.section
          ? a.section === 'active'
            ? -1
            : 1
          : a.order < b.order
            ? -1
            : a.order > b.order
              ? 1
              : 0,
      )
      .map(({ order: _order, ...rest }) => rest);
  }

  async purgeReceipts(filter: PurgeFilter, page: PageRequest): Promise<PurgeReceiptsTable[]> {
    let q = this.db.selectFrom('rm_purge_receipts').selectAll();
    if (filter.linkedOnly) q = q.where('sequence', 'is not', null);
    if (filter.accountId !== undefined) q = q.where('account_id', '=', filter.accountId);
    if (filter.subscriptionId !== undefined)
      q = q.where('subscription_id', '=', filter.subscriptionId);
    if (filter.from !== undefined) q = q.where('purged_at', '>=', filter.from);
    if (filter.to !== undefined) q = q.where('purged_at', '<', filter.to);
    if (page.after !== undefined && page.after !== null)
      q = q.where('position', '>', this.readDb.pos(page.after));
    return q.orderBy('position', 'asc').limit(page.limit).execute();
  }

  /**
   * D11: the signed chain of receipts in order, after sequence `afterSequence`, linked receipts
   * only, up to the read models' position `upTo` (an export's snapshot of its end).
   */
  async receiptChain(
    afterSequence: number,
    upTo: bigint | null,
    limit: number,
  ): Promise<PurgeReceiptsTable[]> {
    let q = this.db
      .selectFrom('rm_purge_receipts')
      .selectAll()
      .where('sequence', '>', afterSequence);
    if (upTo !== null) q = q.where('position', '<=', this.readDb.pos(upTo));
    return q.orderBy('sequence', 'asc').limit(limit).execute();
  }

  /** R16: the confirmations recorded for an account's contract cancellations (the outbox). */
  async confirmationsOf(accountId: string, page: PageRequest): Promise<ConfirmationsTable[]> {
    let q = this.db.selectFrom('rm_confirmations').selectAll().where('account_id', '=', accountId);
    if (page.after !== undefined && page.after !== null)
      q = q.where('position', '>', this.readDb.pos(page.after));
    return q.orderBy('position', 'asc').limit(page.limit).execute();
  }

  /** Confirmations a sender should try now: pending, or failed and due for another attempt. */
  async dueConfirmations(nowIso: string, limit: number): Promise<ConfirmationsTable[]> {
    return this.db
      .selectFrom('rm_confirmations')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('status', '=', 'pending'),
          eb.and([eb('status', '=', 'failed'), eb('next_attempt_at', '<=', nowIso)]),
        ]),
      )
      .orderBy('position', 'asc')
      .limit(limit)
      .execute();
  }

  async markConfirmationDelivered(eventId: string, atIso: string): Promise<void> {
    await this.readDb.writeTransaction((trx) =>
      trx
        .updateTable('rm_confirmations')
        .set((eb) => ({
          status: 'delivered',
          delivered_at: atIso,
          attempts: eb('attempts', '+', 1),
          last_error: null,
          next_attempt_at: null,
        }))
        .where('event_id', '=', eventId)
        .execute(),
    );
  }

  async markConfirmationFailed(
    eventId: string,
    error: string,
    nextAttemptIso: string,
  ): Promise<void> {
    await this.readDb.writeTransaction((trx) =>
      trx
        .updateTable('rm_confirmations')
        .set((eb) => ({
          status: 'failed',
          attempts: eb('attempts', '+', 1),
          last_error: error.slice(0, 500),
          next_attempt_at: nextAttemptIso,
        }))
        .where('event_id', '=', eventId)
        .execute(),
    );
  }

  /**
   * R15 (purge): replaces the encrypted personal fields of the subscription's audit rows with
   * "[erased]" and remembers the scrub, so rows projected later are stored scrubbed too. Returns
   * how many of the subscription's rows are scrubbed afterwards, whichever call scrubbed them: a
   * purge resumed after a crash between this step and its receipt counts the rows the first
   * attempt scrubbed (counting only the rows changed by this call reported 0 there). On SQLite
   * the WAL is then truncated, so the old bytes leave the disk (secure_delete is on).
   */
  scrubSubscription(subscriptionId: string): Promise<number> {
    return this.scrub('subscription', subscriptionId);
  }

  /** R17 (erasure): the same for every row of the account (its subscriptions and its own stream). */
  scrubAccount(accountId: string): Promise<number> {
    return this.scrub('account', accountId);
  }

  private async scrub(scope: 'subscription' | 'account', id: string): Promise<number> {
    const column = scope === 'subscription' ? 'subscription_id' : 'account_id';
    let scrubbed = 0;
    await this.readDb.writeTransaction(async (trx) => {
      await trx
        .insertInto('rm_scrubs')
        .values({ scope, id, scrubbed_at: new Date().toISOString() })
        .onConflict((oc) => oc.columns(['scope', 'id']).doNothing())
        .execute();
      const rows = await trx
        .selectFrom('rm_audit_events')
        .select(['position', 'data'])
        .where(column, '=', id)
        .where('personal', '=', 1)
        .execute();
      for (const row of rows) {
        const { data } = scrubEncryptedFields(JSON.parse(row.data));
        await trx
          .updateTable('rm_audit_events')
          .set({ data: JSON.stringify(data), personal: 0, scrubbed: 1 })
          .where('position', '=', row.position)
          .execute();
      }
      const { count } = await trx
        .selectFrom('rm_audit_events')
        .select((e) => e.fn.countAll<number | string>().as('count'))
        .where(column, '=', id)
        .where('scrubbed', '=', 1)
        .executeTakeFirstOrThrow();
      scrubbed = Number(count);
    });
    await this.readDb.compact();
    return scrubbed;
  }

  async ping(): Promise<void> {
    await this.readDb.ping();
  }

  close(): Promise<void> {
    return this.readDb.close();
  }
}
