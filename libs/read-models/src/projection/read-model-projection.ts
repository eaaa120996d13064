import { ACCOUNT_EVENT_TYPES, personalDataFields, SUBSCRIPTION_EVENT_TYPES } from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import type { Transaction } from 'kysely';
import type { ReadDb } from '../database/read-db';
import { linkPendingReceipts } from '../receipts/receipt-chain';
import type { ReceiptSigner } from '../receipts/receipt-signature';
import type {
  AccountsTable,
  AuditEventsTable,
  ConfirmationsTable,
  IntegrationEventsTable,
  PurgeReceiptsTable,
  ReadDatabase,
  SubscriptionsTable,
} from '../database/read-db.schema';
import {
  type AccountFold,
  accountFoldOfRow,
  accountRow,
  auditRow,
  emptyAccountFold,
  emptySubscriptionFold,
  eventSubjects,
  foldAccountEvent,
  foldSubscriptionEvent,
  projectedStream,
  type ScrubMarkers,
  type SubscriptionFold,
  subscriptionFoldOfRow,
  subscriptionRow,
  type WritePosition,
} from './read-model-rows';

export type Upcast = (event: RecordedEvent) => RecordedEvent;

/** Event types with personal fields (encrypted in the log): the only ones a scrub can touch. */
const PERSONAL_TYPES = new Set<string>(
  [...SUBSCRIPTION_EVENT_TYPES, ...ACCOUNT_EVENT_TYPES].filter(
    (t) => personalDataFields(t).length > 0,
  ),
);
/** Rows per multi-row INSERT (SQLite allows 32,766 parameters; 16 columns × 200 stays far below). */
const CHUNK = 200;

export interface ProjectionResult {
  events: number;
  auditRows: number;
  subscriptionsChanged: number;
  confirmations: number;
  receipts: number;
  integrationEvents: number;
}

/**
 * Applies a batch of events (log order) to every read model in one transaction, together with the
 * checkpoint, so that a reader who sees checkpoint P sees every row of events up to P.
 * Idempotent under re-delivery (at-least-once subscription): audit rows, receipts and
 * confirmations are keyed by position / event id, subscription and account rows by revision.
 * The rows are made by the one mapping (read-model-rows.ts); this class loads the folds they
 * start from and writes what they give.
 */
export class ReadModelProjection {
  private readonly pos: WritePosition;
  /** Receipts left unlinked before this projection ran (a migrated database) are linked once. */
  private pendingChecked = false;

  constructor(
    private readonly readDb: ReadDb,
    /** Applied to every event before it is folded (upcasters); audit rows keep the event as written. */
    private readonly upcast: Upcast = (e) => e,
    /**
     * D11: links each new purge receipt into the signed chain, in the batch's transaction.
     * Without it receipts stay unlinked (not shown by the API) until a projection with one runs.
     */
    private readonly signer: ReceiptSigner | null = null,
  ) {
    this.pos = (p) => readDb.pos(p);
  }

  async apply(events: readonly RecordedEvent[], checkpointName: string): Promise<ProjectionResult> {
    const result: ProjectionResult = {
      events: events.length,
      auditRows: 0,
      subscriptionsChanged: 0,
      confirmations: 0,
      receipts: 0,
      integrationEvents: 0,
    };
    if (events.length === 0) return result;
    const last = events[events.length - 1]!.position;
    await this.readDb.writeTransaction(async (trx) => {
      const subscriptionIds = new Set<string>();
      const accountIds = new Set<string>();
      // Scrub markers only matter for events that carry encrypted personal data.
      const personalSubscriptions = new Set<string>();
      const personalAccounts = new Set<string>();
      for (const e of events) {
        const stream = projectedStream(e.streamId);
        if (stream?.kind === 'subscription') subscriptionIds.add(stream.id);
        else if (stream?.kind === 'account') accountIds.add(stream.id);
        if (!PERSONAL_TYPES.has(e.type)) continue;
        const subjects = eventSubjects(e);
        if (subjects.accountId) personalAccounts.add(subjects.accountId);
        if (subjects.subscriptionId) personalSubscriptions.add(subjects.subscriptionId);
      }
      const scrubs = await this.scrubMarkers(trx, personalSubscriptions, personalAccounts);
      const subscriptions = await this.loadSubscriptions(trx, subscriptionIds);
      const accounts = await this.loadAccounts(trx, accountIds);

      const audit: AuditEventsTable[] = [];
      const receipts: PurgeReceiptsTable[] = [];
      const confirmations: ConfirmationsTable[] = [];
      const integration: IntegrationEventsTable[] = [];
      for (const stored of events) {
        audit.push(auditRow(stored, scrubs, this.pos));
        const event = this.upcast(stored);
        const stream = projectedStream(event.streamId);
        if (stream?.kind === 'subscription') {
          const side = foldSubscriptionEvent(subscriptions.get(stream.id)!, event, this.pos);
          if (side?.confirmation) confirmations.push(side.confirmation);
          if (side?.receipt) receipts.push(side.receipt);
          if (side?.integration) integration.push(side.integration);
        } else if (stream?.kind === 'account') {
          const side = foldAccountEvent(accounts.get(stream.id)!, event, stream.id, this.pos);
          if (side?.integration) integration.push(side.integration);
        }
      }

      const subscriptionRows: SubscriptionsTable[] = [];
      for (const [id, fold] of subscriptions) {
        const row = fold.changed ? subscriptionRow(id, fold, this.pos) : null;
        if (row) subscriptionRows.push(row);
      }
      const accountRows: AccountsTable[] = [];
      for (const [id, fold] of accounts)
        if (fold.changed) accountRows.push(accountRow(id, fold, this.pos));

      result.auditRows = await insertNew(trx, 'rm_audit_events', 'position', audit);
      await this.saveSubscriptions(trx, subscriptionRows);
      result.subscriptionsChanged = subscriptionRows.length;
      await this.saveAccounts(trx, accountRows);
      result.receipts = await insertNew(trx, 'rm_purge_receipts', 'position', receipts);
      if (this.signer && (receipts.length > 0 || !this.pendingChecked))
        await linkPendingReceipts(trx, this.signer);
      result.confirmations = await insertNew(trx, 'rm_confirmations', 'event_id', confirmations);
      result.integrationEvents = await insertNew(
        trx,
        'rm_integration_events',
        'position',
        integration,
      );
      await saveCheckpoint(trx, this.readDb, checkpointName, last);
    });
    this.pendingChecked = true;
    return result;
  }

  private async scrubMarkers(
    trx: Transaction<ReadDatabase>,
    subscriptionIds: Set<string>,
    accountIds: Set<string>,
  ): Promise<ScrubMarkers> {
    const out = { subscriptions: new Set<string>(), accounts: new Set<string>() };
    for (const [scope, ids, into] of [
      ['subscription', [...subscriptionIds], out.subscriptions],
      ['account', [...accountIds], out.accounts],
    ] as const) {
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await trx
          .selectFrom('rm_scrubs')
          .select('id')
          .where('scope', '=', scope)
          .where('id', 'in', ids.slice(i, i + 500))
          .execute();
        for (const r of rows) into.add(r.id);
      }
    }
    return out;
  }

  private async loadSubscriptions(
    trx: Transaction<ReadDatabase>,
    ids: Set<string>,
  ): Promise<Map<string, SubscriptionFold>> {
    const out = new Map<string, SubscriptionFold>();
    for (const id of ids) out.set(id, emptySubscriptionFold());
    const list = [...ids];
    for (let i = 0; i < list.length; i += 500) {
      const rows = await trx
        .selectFrom('rm_subscriptions')
        .select(['subscription_id', 'state', 'revision', 'registered_position'])
        .where('subscription_id', 'in', list.slice(i, i + 500))
        .execute();
      for (const row of rows) out.set(row.subscription_id, subscriptionFoldOfRow(row));
    }
    return out;
  }

  private async saveSubscriptions(
    trx: Transaction<ReadDatabase>,
    rows: readonly SubscriptionsTable[],
  ): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK)
      await trx
        .insertInto('rm_subscriptions')
        .values(rows.slice(i, i + CHUNK))
        .onConflict((oc) =>
          oc
            .column('subscription_id')
            .doUpdateSet((eb) => ({
              account_id: eb.ref('excluded.account_id'),
              product_id: eb.ref('excluded.product_id'),
              status: eb.ref('excluded.status'),
              section: eb.ref('excluded.section'),
              contract: eb.ref('excluded.contract'),
              revision: eb.ref('excluded.revision'),
              position: eb.ref('excluded.position'),
              expires_at: eb.ref('excluded.expires_at'),
              purge_at: eb.ref('excluded.purge_at'),
              purged_at: eb.ref('excluded.purged_at'),
              state: eb.ref('excluded.state'),
              updated_at: eb.ref('excluded.updated_at'),
            }))
            // Never back: a second projector replaying older events must not undo newer ones.
            .where((eb) => eb('rm_subscriptions.revision', '<', eb.ref('excluded.revision'))),
        )
        .execute();
  }

  private async loadAccounts(
    trx: Transaction<ReadDatabase>,
    ids: Set<string>,
  ): Promise<Map<string, AccountFold>> {
    const out = new Map<string, AccountFold>();
    for (const id of ids) out.set(id, emptyAccountFold());
    const list = [...ids];
    for (let i = 0; i < list.length; i += 500) {
      const rows = await trx
        .selectFrom('rm_accounts')
        .selectAll()
        .where('account_id', 'in', list.slice(i, i + 500))
        .execute();
      for (const row of rows) out.set(row.account_id, accountFoldOfRow(row));
    }
    return out;
  }

  private async saveAccounts(
    trx: Transaction<ReadDatabase>,
    rows: readonly AccountsTable[],
  ): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK)
      await trx
        .insertInto('rm_accounts')
        .values(rows.slice(i, i + CHUNK))
        .onConflict((oc) =>
          oc
            .column('account_id')
            .doUpdateSet((eb) => ({
              revision: eb.ref('excluded.revision'),
              position: eb.ref('excluded.position'),
              legal_hold: eb.ref('excluded.legal_hold'),
              hold_id: eb.ref('excluded.hold_id'),
              last_erased_at: eb.ref('excluded.last_erased_at'),
            }))
            .where((eb) => eb('rm_accounts.revision', '<', eb.ref('excluded.revision'))),
        )
        .execute();
  }
}

/** Inserts rows keyed by event (audit rows, receipts, confirmations, integration events), skipping those present. */
async function insertNew<
  T extends 'rm_audit_events' | 'rm_purge_receipts' | 'rm_confirmations' | 'rm_integration_events',
>(
  trx: Transaction<ReadDatabase>,
  table: T,
  key: 'position' | 'event_id',
  rows: readonly ReadDatabase[T][],
): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const r = await trx
      .insertInto(table)
      .values(rows.slice(i, i + CHUNK) as never)
      .onConflict((oc) => oc.column(key as never).doNothing())
      .executeTakeFirst();
    inserted += Number(r.numInsertedOrUpdatedRows ?? 0n);
  }
  return inserted;
}

/** Monotonic: a checkpoint never moves back (two projectors racing, a late save). */
export async function saveCheckpoint(
  trx: Transaction<ReadDatabase> | ReadDb['db'],
  readDb: ReadDb,
  name: string,
  position: bigint,
): Promise<void> {
  await trx
    .insertInto('rm_checkpoints')
    .values({ name, position: readDb.pos(position), updated_at: new Date().toISOString() })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet((eb) => ({
          position: eb.ref('excluded.position'),
          updated_at: eb.ref('excluded.updated_at'),
        }))
        .where((eb) => eb('rm_checkpoints.position', '<', eb.ref('excluded.position'))),
    )
    .execute();
}
