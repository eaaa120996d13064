import { purgeDateFor } from '../calendar/term-calendar';
import { isSameInstant } from '../kernel/time';
import type { SubscriptionEvent } from './subscription.events';
import {
  factsOf,
  isLive,
  isRegistered,
  pendingTermination,
  type RegisteredSubscription,
  type SubscriptionState,
} from './subscription.state';

/**
 * Folds one event into the state. Total: every event type has a case (the `never` check makes a
 * new type without a case a compile error). Events are facts already decided, so evolve never
 * refuses; an event that cannot apply to the state it meets (only possible in a corrupted or
 * hand-edited log) leaves the state as it was.
 */
export function evolve(state: SubscriptionState, event: SubscriptionEvent): SubscriptionState {
  return withTerminationDates(evolveEvent(state, event));
}

/**
 * D8: while a termination is pending, the subscription expires at its `effectiveAt` (never later
 * than it would have: the decider checks), whatever else happens meanwhile (a withdrawal, auto
 * renewal switched back on).
 */
function withTerminationDates(state: SubscriptionState): SubscriptionState {
  const t = pendingTermination(state);
  if (!t) return state;
  if (state.status === 'cancellation_pending')
    return { ...state, expiresAt: t.effectiveAt, purgeAt: t.purgeAt };
  return state.status === 'trial' || state.status === 'active'
    ? { ...state, expiresAt: t.effectiveAt }
    : state;
}

/** D8: the dates a state had before its termination was scheduled, once it is revoked. */
function withoutTermination(state: RegisteredSubscription): SubscriptionState {
  const { termination: _revoked, ...rest } = state;
  switch (rest.status) {
    case 'trial':
      return { ...rest, expiresAt: rest.currentTerm.end };
    case 'active':
      return { ...rest, expiresAt: rest.autoRenew ? null : rest.currentTerm.end };
    case 'cancellation_pending': {
      const expiresAt = rest.cancellation.expiresAt ?? rest.currentTerm.end;
      return {
        ...rest,
        expiresAt,
        purgeAt: rest.cancellation.purgeAt ?? purgeDateFor(expiresAt, rest.timeZone),
      };
    }
    default:
      return state;
  }
}

function evolveEvent(state: SubscriptionState, event: SubscriptionEvent): SubscriptionState {
  if (event.type === 'SubscriptionRegistered') {
    const d = event.data;
    const facts = {
      subscriptionId: d.subscriptionId,
      accountId: d.accountId,
      productId: d.productId,
      plan: d.plan,
      contract: d.contract,
      timeZone: d.timeZone,
      anchor: d.anchor,
      termIndex: d.termIndex,
      currentTerm: d.currentTerm,
      autoRenew: d.autoRenew,
      outstandingBalance: d.outstandingBalance,
      assignedLicences: d.assignedLicences,
    };
    return d.plan.kind === 'trial'
      ? { ...facts, status: 'trial', autoRenew: false, expiresAt: d.currentTerm.end }
      : { ...facts, status: 'active', expiresAt: d.autoRenew ? null : d.currentTerm.end };
  }
  if (!isRegistered(state)) return state;

  switch (event.type) {
    case 'CancellationRequested': {
      if (state.status !== 'active') return state;
      const d = event.data;
      return {
        ...factsOf(state),
        status: 'cancellation_pending',
        expiresAt: d.expiresAt,
        purgeAt: d.purgeAt,
        cancellation: {
          requestedAt: d.requestedAt,
          renewalDate: d.renewalDate,
          noticeDeadline: d.noticeDeadline,
          noticeDeadlineMissed: d.noticeDeadlineMissed,
          expiresAt: d.expiresAt,
          purgeAt: d.purgeAt,
        },
      };
    }
    case 'AutoRenewDisabled':
      return { ...state, autoRenew: false };
    case 'CancellationRefused':
      // A refusal is a fact for the audit trail; it changes nothing (D6).
      return state;
    case 'CancellationWithdrawn':
      if (state.status !== 'cancellation_pending') return state;
      return { ...factsOf(state), status: 'active', expiresAt: null };
    case 'AutoRenewEnabled':
      return state.status === 'active'
        ? { ...state, autoRenew: true, expiresAt: null }
        : { ...state, autoRenew: true };
    case 'SubscriptionRenewed':
      return { ...state, termIndex: event.data.termIndex, currentTerm: event.data.currentTerm };
    case 'SubscriptionExpired':
      return {
        ...factsOf(state),
        autoRenew: false,
        status: 'expired',
        expiresAt: event.data.expiresAt,
        purgeAt: event.data.purgeAt,
        expiredAt: event.data.expiredAt,
        purgeDeferred: false,
        purge: null,
      };
    case 'RoomMeetingAccountRevoked':
      return state;
    case 'SubscriptionReactivated': {
      if (state.status !== 'expired') return state;
      // Only a termination for another reason than fraud can be reactivated (D8): it is over.
      const { termination: _over, ...facts } = factsOf(state);
      return {
        ...facts,
        status: 'active',
        anchor: event.data.anchor,
        termIndex: event.data.termIndex,
        currentTerm: event.data.currentTerm,
        autoRenew: true,
        expiresAt: null,
      };
    }
    case 'PurgeDeferred':
      return state.status === 'expired' ? { ...state, purgeDeferred: true } : state;
    case 'PurgeStarted':
      if (state.status !== 'expired') return state;
      return {
        ...state,
        purgeDeferred: false,
        purge: {
          purgeId: event.data.purgeId,
          startedAt: event.data.startedAt,
          holders: event.data.holders,
          done: [],
        },
      };
    case 'ProductDataHolderPurged':
      if (state.status !== 'expired' || !state.purge) return state;
      return {
        ...state,
        purge: { ...state.purge, done: [...state.purge.done, event.data.receipt] },
      };
    case 'PurgeVerified':
      if (state.status !== 'expired' || !state.purge) return state;
      return {
        ...state,
        purge: {
          ...state.purge,
          verification: { verifiedAt: event.data.verifiedAt, holders: event.data.holders },
          remaining: [],
        },
      };
    case 'PurgeVerificationFailed':
      if (state.status !== 'expired' || !state.purge) return state;
      return { ...state, purge: { ...state.purge, remaining: event.data.holders } };
    case 'ProductDataPurged':
      if (state.status !== 'expired') return state;
      return {
        ...factsOf(state),
        status: 'purged',
        expiresAt: state.expiresAt,
        purgeAt: state.purgeAt,
        purgedAt: event.data.purgedAt,
      };
    case 'TerminationScheduled': {
      if (!isLive(state)) return state;
      const d = event.data;
      return {
        ...state,
        termination: {
          reason: d.reason,
          effectiveAt: d.effectiveAt,
          purgeAt: d.purgeAt,
          requestedAt: d.requestedAt,
        },
      };
    }
    case 'TerminationRevoked':
      return pendingTermination(state) ? withoutTermination(state) : state;
    case 'ReactivationRefused':
      // A refusal is a fact for the audit trail; it changes nothing (D6).
      return state;
    case 'BillingFactsUpdated':
      // D9: the latest facts replace those given at registration, whatever the status.
      return {
        ...state,
        outstandingBalance: event.data.outstandingBalance,
        assignedLicences: event.data.assignedLicences,
      };
    case 'PurgeNoticeIssued': {
      // D7: remembered for this expiry's purge date only (a notice for another one is moot).
      if (state.status !== 'expired' || !isSameInstant(event.data.purgeAt, state.purgeAt))
        return state;
      const d = event.data;
      return {
        ...state,
        noticesIssued: [
          ...(state.noticesIssued ?? []),
          { daysBefore: d.daysBefore, noticeAt: d.noticeAt, issuedAt: d.issuedAt },
        ],
      };
    }
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
}
