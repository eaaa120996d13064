import {
  type AccountEvent,
  type AccountEventType,
  type AccountState,
  accountDecider,
  cancellationConfirmation,
  type CancellationRequested,
  isRegistered,
  listingEntry,
  normalizeInstant as normalize,
  type ProductDataPurged,
  type RegisteredSubscription,
  type SubscriptionEvent,
  type SubscriptionEventType,
  type SubscriptionState,
  subscriptionDecider,
} from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import type {
  AccountsTable,
  AuditEventsTable,
  ConfirmationsTable,
  IntegrationEventsTable,
  PositionValue,
  PurgeReceiptsTable,
  SubscriptionsTable,
} from '../database/read-db.schema';
import {
  accountIntegrationEvent,
  type IntegrationEvent,
  subscriptionIntegrationEvent,
} from '../integration-events/integration-event';
import { holdsEncryptedFields, scrubEncryptedFields } from './scrub';

/**
 * The one mapping from events to read-model rows. The live projector, the replay's build, `ops
 * verify` and `ops inspect` all fold events and make rows with these functions; they differ only
 * in how they batch, read back and write the rows.
 */

/** How a position is written: `ReadDb.pos` (a number on SQLite, a string on PostgreSQL). */
export type WritePosition = (position: bigint) => PositionValue;

const SUBSCRIPTION_STREAM = 'subscription-';
const ACCOUNT_STREAM = 'account-';

/**
 * What each event type adds to the read models besides its stream's row. A `Record` over the
 * union: a new event type does not compile until it is named here.
 */
const SUBSCRIPTION_SIDE_ROWS: Record<SubscriptionEventType, 'confirmation' | 'receipt' | null> = {
  SubscriptionRegistered: null,
  CancellationRequested: 'confirmation',
  AutoRenewDisabled: null,
  CancellationRefused: null,
  CancellationWithdrawn: null,
  AutoRenewEnabled: null,
  SubscriptionRenewed: null,
  SubscriptionExpired: null,
  RoomMeetingAccountRevoked: null,
  SubscriptionReactivated: null,
  PurgeDeferred: null,
  PurgeStarted: null,
  ProductDataHolderPurged: null,
  PurgeVerified: null,
  PurgeVerificationFailed: null,
  ProductDataPurged: 'receipt',
  TerminationScheduled: null,
  TerminationRevoked: null,
  ReactivationRefused: null,
  BillingFactsUpdated: null,
  // D7: an audit row and the folded row (the notices issued) only; delivery is the notifier's.
  PurgeNoticeIssued: null,
};
const ACCOUNT_TYPES: Record<AccountEventType, true> = {
  LegalHoldPlaced: true,
  LegalHoldReleased: true,
  PersonalDataErased: true,
  ErasureRefused: true,
};
const isSubscriptionType = (type: string): type is SubscriptionEventType =>
  Object.hasOwn(SUBSCRIPTION_SIDE_ROWS, type);
const isAccountType = (type: string): type is AccountEventType =>
  Object.hasOwn(ACCOUNT_TYPES, type);

/** A stream a read model folds: a subscription's or an account's. */
export type ProjectedStream = { kind: 'subscription' | 'account'; id: string };

/** The read model a stream feeds (null: a stream no read model folds). */
export function projectedStream(streamId: string): ProjectedStream | null {
  if (streamId.startsWith(SUBSCRIPTION_STREAM))
    return { kind: 'subscription', id: streamId.slice(SUBSCRIPTION_STREAM.length) };
  if (streamId.startsWith(ACCOUNT_STREAM))
    return { kind: 'account', id: streamId.slice(ACCOUNT_STREAM.length) };
  return null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Instants as rows keep them; memoized: the events of one batch or instant share most of them. */
const instants = new Map<string, string>();
function normalizeInstant(value: unknown): string {
  if (typeof value !== 'string') return normalize(value);
  let normalized = instants.get(value);
  if (normalized === undefined) {
    if (instants.size >= 10_000) instants.clear();
    normalized = normalize(value);
    instants.set(value, normalized);
  }
  return normalized;
}

/** The subscription and account an event is about: its data's ids, else its stream's. */
export function eventSubjects(e: Pick<RecordedEvent, 'streamId' | 'data'>): {
  subscriptionId: string | null;
  accountId: string | null;
} {
  const stream = projectedStream(e.streamId);
  return {
    subscriptionId:
      str(e.data['subscriptionId']) ?? (stream?.kind === 'subscription' ? stream.id : null),
    accountId: str(e.data['accountId']) ?? (stream?.kind === 'account' ? stream.id : null),
  };
}

/** Scrub markers (rm_scrubs): subscriptions and accounts whose personal fields are erased. */
export interface ScrubMarkers {
  subscriptions: ReadonlySet<string>;
  accounts: ReadonlySet<string>;
}

/**
 * The audit row of a stored event (as written: upcasters do not apply). Its encrypted personal
 * fields are replaced by "[erased]" when the subscription or account is scrubbed already (a
 * purge or erasure that ran while the projection was behind).
 */
export function auditRow(
  e: RecordedEvent,
  scrubs: ScrubMarkers,
  pos: WritePosition,
): AuditEventsTable {
  const { subscriptionId, accountId } = eventSubjects(e);
  let data = JSON.stringify(e.data);
  let personal = holdsEncryptedFields(data);
  let scrubbed = 0;
  if (
    personal &&
    ((subscriptionId !== null && scrubs.subscriptions.has(subscriptionId)) ||
      (accountId !== null && scrubs.accounts.has(accountId)))
  ) {
    data = JSON.stringify(scrubEncryptedFields(e.data).data);
    personal = false;
    scrubbed = 1;
  }
  const m = e.metadata;
  return {
    position: pos(e.position),
    event_id: e.eventId,
    stream_id: e.streamId,
    revision: e.revision,
    type: e.type,
    recorded_at: normalizeInstant(m.recordedAt),
    subscription_id: subscriptionId,
    account_id: accountId,
    actor_id: m.actor?.actorId ?? null,
    actor_role: m.actor?.role ?? null,
    channel: m.channel ?? null,
    correlation_id: m.correlationId ?? '',
    causation_id: m.causationId ?? null,
    data,
    personal: personal ? 1 : 0,
    scrubbed,
  };
}

/** One subscription stream folded: what its row is made of. */
export interface SubscriptionFold {
  state: SubscriptionState;
  /** Last revision applied (-1: none). */
  revision: number;
  registeredPosition: bigint | null;
  /** The last event applied (null: none since the fold was loaded). */
  last: { position: bigint; recordedAt: unknown } | null;
  /** Changed since it was loaded: its row must be written. */
  changed: boolean;
}

export const emptySubscriptionFold = (): SubscriptionFold => ({
  state: subscriptionDecider.initialState(),
  revision: -1,
  registeredPosition: null,
  last: null,
  changed: false,
});

/** A subscription's fold read back from its row (to go on folding later events). */
export const subscriptionFoldOfRow = (
  row: Pick<SubscriptionsTable, 'state' | 'revision' | 'registered_position'>,
): SubscriptionFold => ({
  state: JSON.parse(row.state) as SubscriptionState,
  revision: row.revision,
  registeredPosition: BigInt(row.registered_position),
  last: null,
  changed: false,
});

/** Rows an event adds besides its stream's row (keyed by event: written once, never updated). */
export interface SideRows {
  confirmation: ConfirmationsTable | null;
  receipt: PurgeReceiptsTable | null;
  /** The integration event it publishes (docs/integration-events.md). */
  integration: IntegrationEventsTable | null;
}

/**
 * Folds one (upcast) event of the subscription's stream. Returns the rows it adds, or null when
 * the fold holds it already (a delivery again: at-least-once). A type this code does not know
 * yet moves the revision on and changes nothing else.
 */
export function foldSubscriptionEvent(
  fold: SubscriptionFold,
  e: RecordedEvent,
  pos: WritePosition,
): SideRows | null {
  if (e.revision <= fold.revision) return null;
  fold.revision = e.revision;
  fold.last = { position: e.position, recordedAt: e.metadata.recordedAt };
  fold.changed = true;
  const rows: SideRows = { confirmation: null, receipt: null, integration: null };
  if (!isSubscriptionType(e.type)) return rows;
  fold.state = subscriptionDecider.evolve(fold.state, {
    type: e.type,
    data: e.data,
  } as unknown as SubscriptionEvent);
  if (e.type === 'SubscriptionRegistered') fold.registeredPosition ??= e.position;
  const side = SUBSCRIPTION_SIDE_ROWS[e.type];
  if (side === 'confirmation' && isRegistered(fold.state))
    rows.confirmation = confirmationRow(fold.state, e, pos);
  else if (side === 'receipt') rows.receipt = purgeReceiptRow(e, pos);
  rows.integration = integrationRow(subscriptionIntegrationEvent(e, fold.state), e, pos);
  return rows;
}

function integrationRow(
  event: IntegrationEvent | null,
  e: RecordedEvent,
  pos: WritePosition,
): IntegrationEventsTable | null {
  if (!event) return null;
  return {
    position: pos(e.position),
    id: event.id,
    type: event.type,
    account_id: event.accountId,
    subscription_id: event.subscriptionId ?? null,
    occurred_at: normalizeInstant(event.occurredAt),
    body: JSON.stringify(event),
  };
}

/** The subscription's row (null before its registration: nothing to show). */
export function subscriptionRow(
  id: string,
  fold: SubscriptionFold,
  pos: WritePosition,
): SubscriptionsTable | null {
  const state = fold.state;
  if (!isRegistered(state) || fold.last === null) return null;
  return {
    subscription_id: id,
    account_id: state.accountId,
    product_id: state.productId,
    status: state.status,
    section: listingEntry(state).section,
    contract: state.contract ? 1 : 0,
    revision: fold.revision,
    position: pos(fold.last.position),
    registered_position: pos(fold.registeredPosition ?? fold.last.position),
    expires_at: state.expiresAt ?? null,
    purge_at: 'purgeAt' in state ? (state.purgeAt ?? null) : null,
    purged_at: state.status === 'purged' ? (state.purgedAt ?? null) : null,
    state: JSON.stringify(state),
    updated_at: normalizeInstant(fold.last.recordedAt),
  };
}

/** One account stream folded. */
export interface AccountFold {
  state: AccountState;
  revision: number;
  position: bigint;
  changed: boolean;
}

export const emptyAccountFold = (): AccountFold => ({
  state: accountDecider.initialState(),
  revision: -1,
  position: 0n,
  changed: false,
});

/** An account's fold read back from its row (the hold's placedAt is not kept in the row). */
export const accountFoldOfRow = (
  row: Pick<AccountsTable, 'revision' | 'position' | 'legal_hold' | 'hold_id' | 'last_erased_at'>,
): AccountFold => ({
  state: {
    legalHold: row.legal_hold && row.hold_id ? { holdId: row.hold_id, placedAt: '' } : null,
    lastErasedAt: row.last_erased_at,
  },
  revision: row.revision,
  position: BigInt(row.position),
  changed: false,
});

/**
 * Folds one (upcast) event of the account's stream. Returns the rows it adds (its integration
 * event), or null when the fold holds it already.
 */
export function foldAccountEvent(
  fold: AccountFold,
  e: RecordedEvent,
  accountId: string,
  pos: WritePosition,
): Pick<SideRows, 'integration'> | null {
  if (e.revision <= fold.revision) return null;
  fold.revision = e.revision;
  fold.position = e.position;
  fold.changed = true;
  if (!isAccountType(e.type)) return { integration: null };
  fold.state = accountDecider.evolve(fold.state, {
    type: e.type,
    data: e.data,
  } as unknown as AccountEvent);
  return { integration: integrationRow(accountIntegrationEvent(e, accountId), e, pos) };
}

export function accountRow(id: string, fold: AccountFold, pos: WritePosition): AccountsTable {
  return {
    account_id: id,
    revision: fold.revision,
    position: pos(fold.position),
    legal_hold: fold.state.legalHold ? 1 : 0,
    hold_id: fold.state.legalHold?.holdId ?? null,
    last_erased_at: fold.state.lastErasedAt ?? null,
  };
}

/** One stream folded event by event (`ops inspect`): the same fold the rows are made of. */
export function streamFold(kind: ProjectedStream['kind']): {
  state(): SubscriptionState | AccountState;
  /** Folds the event; returns the state after it. */
  apply(e: RecordedEvent): SubscriptionState | AccountState;
} {
  const noPositions: WritePosition = (p) => p;
  if (kind === 'subscription') {
    const fold = emptySubscriptionFold();
    return {
      state: () => fold.state,
      apply: (e) => (foldSubscriptionEvent(fold, e, noPositions), fold.state),
    };
  }
  const fold = emptyAccountFold();
  return {
    state: () => fold.state,
    apply: (e) => (
      foldAccountEvent(fold, e, projectedStream(e.streamId)?.id ?? '', noPositions),
      fold.state
    ),
  };
}

function confirmationRow(
  state: RegisteredSubscription,
  e: RecordedEvent,
  pos: WritePosition,
): ConfirmationsTable | null {
  const c = cancellationConfirmation(state, {
    type: 'CancellationRequested',
    data: e.data,
  } as unknown as CancellationRequested);
  if (!c) return null;
  return {
    event_id: e.eventId,
    position: pos(e.position),
    account_id: c.accountId,
    subscription_id: c.subscriptionId,
    product_id: state.productId,
    subject: c.subject,
    body: c.body,
    recorded_at: normalizeInstant(e.metadata.recordedAt),
    status: 'pending',
    attempts: 0,
    next_attempt_at: null,
    delivered_at: null,
    last_error: null,
  };
}

function purgeReceiptRow(e: RecordedEvent, pos: WritePosition): PurgeReceiptsTable {
  const d = e.data as unknown as ProductDataPurged['data'];
  const m = e.metadata;
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
    command_id: m.commandId ?? null,
    correlation_id: m.correlationId ?? '',
    causation_id: m.causationId ?? null,
    actor_id: m.actor?.actorId ?? null,
    actor_role: m.actor?.role ?? null,
    channel: m.channel ?? null,
    // D11: linked into the signed chain afterwards, in log order (receipts/receipt-chain.ts).
    sequence: null,
    previous_hash: null,
    signature_kid: null,
    signature_value: null,
    receipt_hash: null,
  };
}
