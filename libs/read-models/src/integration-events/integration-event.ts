import type {
  AccountEventType,
  CancellationRequested,
  CancellationWithdrawn,
  LegalHoldPlaced,
  LegalHoldReleased,
  PersonalDataErased,
  ProductDataPurged,
  PurgeDeferred,
  PurgeNoticeIssued,
  RoomMeetingAccountRevoked,
  SubscriptionEventType,
  SubscriptionExpired,
  SubscriptionReactivated,
  SubscriptionRegistered,
  SubscriptionRenewed,
  SubscriptionState,
  TerminationRevoked,
  TerminationScheduled,
} from '@app/domain';
import type { RecordedEvent } from '@app/event-store';

/**
 * The public, versioned integration events: what product services act on. A schema of its own,
 * separate from the internal events, so the log can change shape without breaking integrators,
 * and carrying no personal data: survey comments, support verifications, hold and erasure
 * reasons, termination notes and actors never appear here (only what the mapping below copies,
 * field by field).
 */
export const INTEGRATION_EVENT_SCHEMA_VERSION = '2026-12-01';

export const INTEGRATION_EVENT_TYPES = [
  'subscription.registered',
  'subscription.cancellation_scheduled',
  'subscription.cancellation_withdrawn',
  'subscription.renewed',
  'subscription.termination_scheduled',
  'subscription.termination_revoked',
  'subscription.expired',
  'subscription.room_account_revoked',
  'subscription.reactivated',
  'subscription.purge_notice',
  'subscription.purge_deferred',
  'subscription.purged',
  'account.legal_hold_placed',
  'account.legal_hold_released',
  'account.personal_data_erased',
] as const;
export type IntegrationEventType = (typeof INTEGRATION_EVENT_TYPES)[number];

export const isIntegrationEventType = (value: string): value is IntegrationEventType =>
  (INTEGRATION_EVENT_TYPES as readonly string[]).includes(value);

/** The envelope every feed item and webhook body has. */
export interface IntegrationEvent {
  /** `evt_<event id>`: one fact, one id, whichever process or retry publishes it. */
  id: string;
  type: IntegrationEventType;
  /** When the fact happened, by the service's clock (ISO 8601 UTC). */
  occurredAt: string;
  /** The fact's log position (a decimal string): the feed's cursor. */
  position: string;
  accountId: string;
  subscriptionId?: string;
  productId?: string;
  data: Record<string, unknown>;
}

type DataOf<E> = E extends { data: infer D } ? D : never;
type Mapped = { type: IntegrationEventType; occurredAt: string; data: Record<string, unknown> };
/** What a mapping may read besides the event's data: the event, and its stream's state after it. */
type Context<State> = { e: RecordedEvent; state: State };
type Mapping<State> = (data: never, context: Context<State>) => Mapped;

/** The mapping of an internal event type `E` to the public `type`. */
const on =
  <E, State = SubscriptionState>(
    type: IntegrationEventType,
    map: (d: DataOf<E>, context: Context<State>) => { occurredAt: string; data: object },
  ): Mapping<State> =>
  (d, context) => {
    const m = map(d, context);
    return { type, occurredAt: m.occurredAt, data: { ...m.data } };
  };

/**
 * Which internal event publishes which integration event: a `Record` over the internal types, so
 * a new internal event does not compile until it is decided whether (and what) it publishes.
 * `null`: internal only (refusals, the steps inside a purge, billing's own facts).
 */
const SUBSCRIPTION_EVENTS: Record<SubscriptionEventType, Mapping<SubscriptionState> | null> = {
  SubscriptionRegistered: on<SubscriptionRegistered>('subscription.registered', (d) => ({
    occurredAt: d.registeredAt,
    data: {
      plan: d.plan,
      contract: d.contract,
      timeZone: d.timeZone,
      currentTerm: d.currentTerm,
      autoRenew: d.autoRenew,
    },
  })),
  CancellationRequested: on<CancellationRequested>('subscription.cancellation_scheduled', (d) => ({
    occurredAt: d.requestedAt,
    data: {
      channel: d.channel,
      requestedAt: d.requestedAt,
      expiresAt: d.expiresAt,
      purgeAt: d.purgeAt,
      renewalDate: d.renewalDate,
      noticeDeadline: d.noticeDeadline,
      noticeDeadlineMissed: d.noticeDeadlineMissed,
      surveyReason: d.survey?.reason ?? null,
    },
  })),
  AutoRenewDisabled: null,
  CancellationRefused: null,
  CancellationWithdrawn: on<CancellationWithdrawn>('subscription.cancellation_withdrawn', (d) => ({
    occurredAt: d.withdrawnAt,
    data: { channel: d.channel, withdrawnAt: d.withdrawnAt, expiresAtDropped: d.expiresAtDropped },
  })),
  AutoRenewEnabled: null,
  SubscriptionRenewed: on<SubscriptionRenewed>('subscription.renewed', (d) => ({
    occurredAt: d.renewedAt,
    data: { termIndex: d.termIndex, currentTerm: d.currentTerm, reason: d.reason },
  })),
  SubscriptionExpired: on<SubscriptionExpired>('subscription.expired', (d, { state }) => ({
    occurredAt: d.expiredAt,
    data: {
      expiresAt: d.expiresAt,
      cause:
        d.cause === 'terminated'
          ? 'terminated'
          : 'plan' in state && state.plan.kind === 'trial'
            ? 'trial_end'
            : 'term_end',
      purgeAt: d.purgeAt,
      ...(d.terminationReason ? { terminationReason: d.terminationReason } : {}),
    },
  })),
  RoomMeetingAccountRevoked: on<RoomMeetingAccountRevoked>(
    'subscription.room_account_revoked',
    (d) => ({
      occurredAt: d.revokedAt,
      data: {
        revokedAt: d.revokedAt,
        revoked: d.revoked,
        hardwareRetainedByCustomer: d.hardwareRetainedByCustomer,
      },
    }),
  ),
  SubscriptionReactivated: on<SubscriptionReactivated>('subscription.reactivated', (d) => ({
    occurredAt: d.reactivatedAt,
    data: {
      channel: d.channel,
      reactivatedAt: d.reactivatedAt,
      currentTerm: d.currentTerm,
      purgeAtDropped: d.purgeAtDropped,
    },
  })),
  PurgeDeferred: on<PurgeDeferred>('subscription.purge_deferred', (d) => ({
    occurredAt: d.deferredAt,
    data: { purgeAt: d.purgeAt, reason: d.reason },
  })),
  PurgeStarted: null,
  ProductDataHolderPurged: null,
  PurgeVerified: null,
  PurgeVerificationFailed: null,
  ProductDataPurged: on<ProductDataPurged>('subscription.purged', (d, { e }) => ({
    occurredAt: d.purgedAt,
    data: {
      // The receipt's own id in GET /v1/audit/purges: the id of the event it records.
      receiptId: e.eventId,
      purgeId: d.receipt.purgeId,
      purgedAt: d.purgedAt,
      expiresAt: d.expiresAt,
      purgeAt: d.purgeAt,
      holders: d.receipt.holders.length,
      itemsDeleted: d.receipt.itemsDeleted,
      keysShredded: d.receipt.keysShredded.length,
      // D11: every holder confirmed nothing remains (false only on purges from before that step).
      verified: d.receipt.verification !== undefined,
    },
  })),
  TerminationScheduled: on<TerminationScheduled>('subscription.termination_scheduled', (d) => ({
    occurredAt: d.requestedAt,
    data: {
      reason: d.reason,
      effective: d.effective,
      effectiveAt: d.effectiveAt,
      purgeAt: d.purgeAt,
    },
  })),
  TerminationRevoked: on<TerminationRevoked>('subscription.termination_revoked', (d) => ({
    occurredAt: d.revokedAt,
    data: { reason: d.reason, effectiveAtDropped: d.effectiveAtDropped },
  })),
  ReactivationRefused: null,
  BillingFactsUpdated: null,
  PurgeNoticeIssued: on<PurgeNoticeIssued>('subscription.purge_notice', (d) => ({
    occurredAt: d.issuedAt,
    data: { purgeAt: d.purgeAt, daysBefore: d.daysBefore, noticeAt: d.noticeAt },
  })),
};

const ACCOUNT_EVENTS: Record<AccountEventType, Mapping<null> | null> = {
  LegalHoldPlaced: on<LegalHoldPlaced, null>('account.legal_hold_placed', (d) => ({
    occurredAt: d.placedAt,
    data: { holdId: d.holdId },
  })),
  LegalHoldReleased: on<LegalHoldReleased, null>('account.legal_hold_released', (d) => ({
    occurredAt: d.releasedAt,
    data: { holdId: d.holdId },
  })),
  PersonalDataErased: on<PersonalDataErased, null>('account.personal_data_erased', (d) => ({
    occurredAt: d.erasedAt,
    data: { keysShredded: d.receipt.keysShredded.length },
  })),
  ErasureRefused: null,
};

const envelope = (
  e: RecordedEvent,
  m: Mapped,
  ids: { accountId: string; subscriptionId?: string; productId?: string },
): IntegrationEvent => ({
  id: `evt_${e.eventId}`,
  type: m.type,
  occurredAt: m.occurredAt,
  position: String(e.position),
  ...ids,
  data: m.data,
});

/**
 * The integration event a subscription's (upcast) event publishes, given the state folded with
 * it (for the product, and whether an expiry ended a trial); null when it publishes none.
 */
export function subscriptionIntegrationEvent(
  e: RecordedEvent,
  stateAfter: SubscriptionState,
): IntegrationEvent | null {
  if (!Object.hasOwn(SUBSCRIPTION_EVENTS, e.type) || stateAfter.status === 'unregistered')
    return null;
  const map = SUBSCRIPTION_EVENTS[e.type as SubscriptionEventType];
  if (!map) return null;
  return envelope(e, map(e.data as never, { e, state: stateAfter }), {
    accountId: stateAfter.accountId,
    subscriptionId: stateAfter.subscriptionId,
    productId: stateAfter.productId,
  });
}

/** The integration event an account's (upcast) event publishes; null when it publishes none. */
export function accountIntegrationEvent(
  e: RecordedEvent,
  accountId: string,
): IntegrationEvent | null {
  if (!Object.hasOwn(ACCOUNT_EVENTS, e.type)) return null;
  const map = ACCOUNT_EVENTS[e.type as AccountEventType];
  return map ? envelope(e, map(e.data as never, { e, state: null }), { accountId }) : null;
}
