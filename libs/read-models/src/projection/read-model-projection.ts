import {
  ACCOUNT_EVENT_TYPES,
  type AccountEvent,
  type AccountState,
  accountDecider,
  cancellationConfirmation,
  type CancellationRequested,
  isRegistered,
  listingEntry,
  normalizeInstant,
  personalDataFields,
  type ProductDataPurged,
  type RegisteredSubscription,
  SUBSCRIPTION_EVENT_TYPES,
  type SubscriptionEvent,
  type SubscriptionState,
  subscriptionDecider,
} from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import type { Transaction } from 'kysely';
import type { ReadDb } from '../database/read-db';
import type {
  AccountsTable,
  AuditEventsTable,
  ConfirmationsTable,
  PurgeReceiptsTable,
  ReadDatabase,
  SubscriptionsTable,
} from '../database/read-db.schema';
import { holdsEncryptedFields, scrubEncryptedFields } from './scrub';

export type Upcast = (event: RecordedEvent) => RecordedEvent;

const SUBSCRIPTION_TYPES = new Set<string>(SUBSCRIPTION_EVENT_TYPES);
/** Event types with personal fields (encrypted in the log): the only ones a scrub can touch. */
const PERSONAL_TYPES = new Set<string>(
  [...SUBSCRIPTION_EVENT_TYPES, ...ACCOUNT_EVENT_TYPES].filter(
    (t) => personalDataFields(t).length > 0,
  ),
);
const ACCOUNT_TYPES = new Set<string>(ACCOUNT_EVENT_TYPES);
const SUBSCRIPTION_STREAM = 'subscription-';
const ACCOUNT_STREAM = 'account-';
/** Rows per multi-row INSERT (SQLite allows 32,766 parameters; 16 columns × 200 stays far below). */
const CHUNK = 200;

export interface ProjectionResult {
  events: number;
  auditRows: number;
  subscriptionsChanged: number;
  confirmations: number;
  receipts: number;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

interface SubscriptionEntry {
  row: SubscriptionsTable | null;
  state: SubscriptionState;
  revision: number;
  registeredPosition: bigint | null;
  changed: boolean;
  last: RecordedEvent | null;
}

/**
 * Applies a batch of events (log order) to every read model in one transaction, together with the
 * checkpoint, so that a reader who sees checkpoint P sees every row of events up to P.
 * Idempotent under re-delivery (at-least-once subscription): audit rows, receipts and
 * confirmations are keyed by position / event id, subscription and account rows by revision.
 */
export class ReadModelProjection {
  constructor(
    private readonly readDb: ReadDb,
    /** Applied to every event before it is folded (upcasters); audit rows keep the event as written. */
    private readonly upcast: Upcast = (e) => e,
  ) {}

  async apply(events: readonly RecordedEvent[], checkpointName: string): Promise<ProjectionResult> {
    const result: ProjectionResult = {
      events: events.length,
      auditRows: 0,
      subscriptionsChanged: 0,
      confirmations: 0,
      receipts: 0,
    };
    if (events.length === 0) return result;
    const last = events[events.length - 1]!.position;
    await this.readDb.db.transaction().execute(async (trx) => {
      const subscriptionIds = new Set<string>();
      const accountStreams = new Set<string>();
      // Scrub markers only matter for events that carry encrypted personal data.
      const personalSubscriptions = new Set<string>();
      const personalAccounts = new Set<string>();
      for (const e of events) {
        if (e.streamId.startsWith(SUBSCRIPTION_STREAM))
          subscriptionIds.add(e.streamId.slice(SUBSCRIPTION_STREAM.length));
        else if (e.streamId.startsWith(ACCOUNT_STREAM))
          accountStreams.add(e.streamId.slice(ACCOUNT_STREAM.length));
        if (!PERSONAL_TYPES.has(e.type)) continue;
        const accountId =
          str(e.data['accountId']) ??
          (e.streamId.startsWith(ACCOUNT_STREAM) ? e.streamId.slice(ACCOUNT_STREAM.length) : null);
        if (accountId) personalAccounts.add(accountId);
        const subscriptionId =
          str(e.data['subscriptionId']) ??
          (e.streamId.startsWith(SUBSCRIPTION_STREAM)
            ? e.streamId.slice(SUBSCRIPTION_STREAM.length)
            : null);
        if (subscriptionId) personalSubscriptions.add(subscriptionId);
      }
      const scrubbed = await this.scrubMarkers(trx, personalSubscriptions, personalAccounts);
      const subscriptions = await this.loadSubscriptions(trx, subscriptionIds);
      const accounts = await this.loadAccounts(trx, accountStreams);

      const audit: AuditEventsTable[] = [];
      const receipts: PurgeReceiptsTable[] = [];
      const confirmations: ConfirmationsTable[] = [];
      for (const stored of events) {
        audit.push(this.auditRow(stored, scrubbed));
        const event = this.upcast(stored);
        if (event.streamId.startsWith(SUBSCRIPTION_STREAM)) {
          const id = event.streamId.slice(SUBSCRIPTION_STREAM.length);
          const entry = subscriptions.get(id)!;
          if (event.revision <= entry.revision) continue; // delivered again: already applied
          const before = entry.state;
          entry.revision = event.revision;
          entry.last = event;
          entry.changed = true;
          if (!SUBSCRIPTION_TYPES.has(event.type)) continue; // a type this code does not know yet
          const domainEvent = {
            type: event.type,
            data: event.data,
          } as unknown as SubscriptionEvent;
          entry.state = subscriptionDecider.evolve(before, domainEvent);
          if (event.type === 'SubscriptionRegistered' && entry.registeredPosition === null)
            entry.registeredPosition = event.position;
          if (event.type === 'CancellationRequested' && isRegistered(entry.state)) {
            const c = this.confirmation(entry.state, event);
            if (c) confirmations.push(c);
          }
          if (event.type === 'ProductDataPurged')
            receipts.push(purgeReceiptRow(event, (p) => this.readDb.pos(p)));
        } else if (event.streamId.startsWith(ACCOUNT_STREAM)) {
          const id = event.streamId.slice(ACCOUNT_STREAM.length);
          const entry = accounts.get(id)!;
          if (event.revision <= entry.revision) continue;
          entry.revision = event.revision;
          entry.position = event.position;
          entry.changed = true;
          if (ACCOUNT_TYPES.has(event.type))
            entry.state = accountDecider.evolve(entry.state, {
              type: event.type,
              data: event.data,
            } as unknown as AccountEvent);
        }
      }

      for (let i = 0; i < audit.length; i += CHUNK) {
        const r = await trx
          .insertInto('rm_audit_events')
          .values(audit.slice(i, i + CHUNK))
          .onConflict((oc) => oc.column('position').doNothing())
          .executeTakeFirst();
        result.auditRows += Number(r.numInsertedOrUpdatedRows ?? 0n);
      }
      result.subscriptionsChanged = await this.saveSubscriptions(trx, subscriptions);
      await this.saveAccounts(trx, accounts);
      for (let i = 0; i < receipts.length; i += CHUNK) {
        const r = await trx
          .insertInto('rm_purge_receipts')
          .values(receipts.slice(i, i + CHUNK))
          .onConflict((oc) => oc.column('position').doNothing())
          .executeTakeFirst();
        result.receipts += Number(r.numInsertedOrUpdatedRows ?? 0n);
      }
      for (let i = 0; i < confirmations.length; i += CHUNK) {
        const r = await trx
          .insertInto('rm_confirmations')
          .values(confirmations.slice(i, i + CHUNK))
          .onConflict((oc) => oc.column('event_id').doNothing())
          .executeTakeFirst();
        result.confirmations += Number(r.numInsertedOrUpdatedRows ?? 0n);
      }
      await saveCheckpoint(trx, this.readDb, checkpointName, last);
    });
    return result;
  }

  private auditRow(
    e: RecordedEvent,
    scrubbed: { subscriptions: Set<string>; accounts: Set<string> },
  ): AuditEventsTable {
    const subscriptionId =
      str(e.data['subscriptionId']) ??
      (e.streamId.startsWith(SUBSCRIPTION_STREAM)
        ? e.streamId.slice(SUBSCRIPTION_STREAM.length)
        : null);
    const accountId =
      str(e.data['accountId']) ??
      (e.streamId.startsWith(ACCOUNT_STREAM) ? e.streamId.slice(ACCOUNT_STREAM.length) : null);
    let data = JSON.stringify(e.data);
    let personal = holdsEncryptedFields(data);
    let isScrubbed = 0;
    // Scrubbed before this row arrived (a purge or erasure ran while the projection was behind).
    if (
      personal &&
      ((subscriptionId && scrubbed.subscriptions.has(subscriptionId)) ||
        (accountId && scrubbed.accounts.has(accountId)))
    ) {
      data = JSON.stringify(scrubEncryptedFields(e.data).data);
      personal = false;
      isScrubbed = 1;
    }
    const actor = e.metadata.actor;
    return {
      position: this.readDb.pos(e.position),
      event_id: e.eventId,
      stream_id: e.streamId,
      revision: e.revision,
      type: e.type,
      recorded_at: normalizeInstant(e.metadata.recordedAt),
      subscription_id: subscriptionId,
      account_id: accountId,
      actor_id: actor?.actorId ?? null,
      actor_role: actor?.role ?? null,
      channel: e.metadata.channel ?? null,
      correlation_id: e.metadata.correlationId ?? '',
      causation_id: e.metadata.causationId ?? null,
      data,
      personal: personal ? 1 : 0,
      scrubbed: isScrubbed,
    };
  }

  private confirmation(
    state: RegisteredSubscription,
    event: RecordedEvent,
  ): ConfirmationsTable | null {
    const c = cancellationConfirmation(state, {
      type: 'CancellationRequested',
      data: event.data,
    } as unknown as CancellationRequested);
    if (!c) return null;
    return {
      event_id: event.eventId,
      position: this.readDb.pos(event.position),
      account_id: c.accountId,
      subscription_id: c.subscriptionId,
      product_id: state.productId,
      subject: c.subject,
      body: c.body,
      recorded_at: normalizeInstant(event.metadata.recordedAt),
      status: 'pending',
      attempts: 0,
      next_attempt_at: null,
      delivered_at: null,
      last_error: null,
    };
  }

  private async scrubMarkers(
    trx: Transaction<ReadDatabase>,
    subscriptionIds: Set<string>,
    accountIds: Set<string>,
  ): Promise<{ subscriptions: Set<string>; accounts: Set<string> }> {
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
  ): Promise<Map<string, SubscriptionEntry>> {
    const out = new Map<string, SubscriptionEntry>();
    for (const id of ids)
      out.set(id, {
        row: null,
        state: subscriptionDecider.initialState(),
        revision: -1,
        registeredPosition: null,
        changed: false,
        last: null,
      });
    const list = [...ids];
    for (let i = 0; i < list.length; i += 500) {
      const rows = await trx
        .selectFrom('rm_subscriptions')
        .selectAll()
        .where('subscription_id', 'in', list.slice(i, i + 500))
        .execute();
      for (const row of rows)
        out.set(row.subscription_id, {
          row,
          state: JSON.parse(row.state) as SubscriptionState,
          revision: row.revision,
          registeredPosition: BigInt(row.registered_position),
          changed: false,
          last: null,
        });
    }
    return out;
  }

  private async saveSubscriptions(
    trx: Transaction<ReadDatabase>,
    entries: Map<string, SubscriptionEntry>,
  ): Promise<number> {
    const rows: SubscriptionsTable[] = [];
    for (const [id, entry] of entries) {
      if (!entry.changed || !entry.last) continue;
      const state = entry.state;
      // Events before registration (none in a valid log) leave no row to show.
      if (!isRegistered(state)) continue;
      rows.push({
        subscription_id: id,
        account_id: state.accountId,
        product_id: state.productId,
        status: state.status,
        section: listingEntry(state).section,
        contract: state.contract ? 1 : 0,
        revision: entry.revision,
        position: this.readDb.pos(entry.last.position),
        registered_position: this.readDb.pos(entry.registeredPosition ?? entry.last.position),
        expires_at: state.expiresAt,
        purge_at: 'purgeAt' in state ? state.purgeAt : null,
        purged_at: state.status === 'purged' ? state.purgedAt : null,
        state: JSON.stringify(state),
        updated_at: normalizeInstant(entry.last.metadata.recordedAt),
      });
    }
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
    return rows.length;
  }

  private async loadAccounts(
    trx: Transaction<ReadDatabase>,
    ids: Set<string>,
  ): Promise<Map<string, AccountEntry>> {
    const out = new Map<string, AccountEntry>();
    for (const id of ids)
      out.set(id, {
        state: accountDecider.initialState(),
        revision: -1,
        position: 0n,
        changed: false,
      });
    const list = [...ids];
    for (let i = 0; i < list.length; i += 500) {
      const rows = await trx
        .selectFrom('rm_accounts')
        .selectAll()
        .where('account_id', 'in', list.slice(i, i + 500))
        .execute();
      for (const row of rows)
        out.set(row.account_id, {
          state: {
            legalHold: row.legal_hold && row.hold_id ? { holdId: row.hold_id, placedAt: '' } : null,
            lastErasedAt: row.last_erased_at,
          },
          revision: row.revision,
          position: BigInt(row.position),
          changed: false,
        });
    }
    return out;
  }

  private async saveAccounts(
    trx: Transaction<ReadDatabase>,
    entries: Map<string, AccountEntry>,
  ): Promise<void> {
    const rows: AccountsTable[] = [];
    for (const [id, e] of entries) {
      if (!e.changed) continue;
      rows.push({
        account_id: id,
        revision: e.revision,
        position: this.readDb.pos(e.position),
        legal_hold: e.state.legalHold ? 1 : 0,
        hold_id: e.state.legalHold?.holdId ?? null,
        last_erased_at: e.state.lastErasedAt,
      });
    }
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

interface AccountEntry {
  state: AccountState;
  revision: number;
  position: bigint;
  changed: boolean;
}

function purgeReceiptRow(
  e: RecordedEvent,
  pos: (p: bigint) => number | string,
): PurgeReceiptsTable {
  const d = e.data as unknown as ProductDataPurged['data'];
  return {
    position: pos(e.position),
    event_id: e.eventId,
    purge_id: String(d.receipt?.purgeId ?? ''),
    subscription_id: d.subscriptionId,
    account_id: d.accountId,
    product_id: d.productId,
    expires_at: d.expiresAt,
    purge_at: d.purgeAt,
    purged_at: normalizeInstant(d.purgedAt),
    receipt: JSON.stringify(d.receipt ?? null),
    command_id: e.metadata.commandId ?? null,
    correlation_id: e.metadata.correlationId ?? '',
    causation_id: e.metadata.causationId ?? null,
    actor_id: e.metadata.actor?.actorId ?? null,
    actor_role: e.metadata.actor?.role ?? null,
    channel: e.metadata.channel ?? null,
  };
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
