import type { SubscriptionEvent } from './subscription.events';
import { factsOf, isRegistered, type SubscriptionState } from './subscription.state';

/**
 * Folds one event into the state. Total: every event type has a case (the `never` check makes a
 * new type without a case a compile error). Events are facts already decided, so evolve never
 * refuses; an event that cannot apply to the state it meets (only possible in a corrupted or
 * hand-edited log) leaves the state as it was.
 */
export function evolve(state: SubscriptionState, event: SubscriptionEvent): SubscriptionState {
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
    case 'SubscriptionReactivated':
      if (state.status !== 'expired') return state;
      return {
        ...factsOf(state),
        status: 'active',
        anchor: event.data.anchor,
        termIndex: event.data.termIndex,
        currentTerm: event.data.currentTerm,
        autoRenew: true,
        expiresAt: null,
      };
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
    case 'ProductDataPurged':
      if (state.status !== 'expired') return state;
      return {
        ...factsOf(state),
        status: 'purged',
        expiresAt: state.expiresAt,
        purgeAt: state.purgeAt,
        purgedAt: event.data.purgedAt,
      };
    case 'BillingFactsUpdated':
      // D9: the latest facts replace those given at registration, whatever the status.
      return {
        ...state,
        outstandingBalance: event.data.outstandingBalance,
        assignedLicences: event.data.assignedLicences,
      };
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
}
