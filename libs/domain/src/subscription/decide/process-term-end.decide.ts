import { findProduct } from '../../catalogue/product-catalogue';
import { purgeDateFor, termAt } from '../../calendar/term-calendar';
import { isBefore, isSameInstant, type Instant, parseInstant, toInstant } from '../../kernel/time';
import type { ProcessTermEnd } from '../subscription.commands';
import type {
  RoomMeetingAccountRevoked,
  SubscriptionEvent,
  SubscriptionExpired,
  SubscriptionRenewed,
  TerminationReason,
} from '../subscription.events';
import {
  pendingTermination,
  type RegisteredSubscription,
  type SubscriptionState,
} from '../subscription.state';
import { requireRegistered } from './require-registered';

/** The expiry (and R18's revocation for a GoTo Room); a termination names its reason (D8). */
export function expire(
  s: RegisteredSubscription,
  expiresAt: Instant,
  now: Instant,
  terminationReason: TerminationReason | null = null,
): SubscriptionEvent[] {
  const expired: SubscriptionExpired = {
    type: 'SubscriptionExpired',
    data: {
      subscriptionId: s.subscriptionId,
      accountId: s.accountId,
      productId: s.productId,
      expiresAt,
      expiredAt: now,
      // From the scheduled expiry, not from when the job ran: a late job never delays the purge
      // date the customer was told (R19), and an early one cannot happen (guard below).
      purgeAt: purgeDateFor(expiresAt, s.timeZone),
      ...(terminationReason ? { cause: 'terminated' as const, terminationReason } : {}),
    },
  };
  if (!findProduct(s.productId)?.roomHardware) return [expired];
  const revoked: RoomMeetingAccountRevoked = {
    type: 'RoomMeetingAccountRevoked',
    data: {
      subscriptionId: s.subscriptionId,
      accountId: s.accountId,
      productId: s.productId,
      revokedAt: now,
      revoked: ['instant_meeting', 'screen_sharing'],
      hardwareRetainedByCustomer: true,
    },
  };
  return [expired, revoked];
}

function renew(
  s: RegisteredSubscription,
  now: Instant,
  reason: SubscriptionRenewed['data']['reason'],
): [SubscriptionRenewed] {
  const termIndex = s.termIndex + 1;
  return [
    {
      type: 'SubscriptionRenewed',
      data: {
        subscriptionId: s.subscriptionId,
        accountId: s.accountId,
        renewedAt: now,
        previousTerm: s.currentTerm,
        termIndex,
        currentTerm: termAt(s.anchor, s.timeZone, s.plan, termIndex),
        reason,
      },
    },
  ];
}

/**
 * R14, R9, R18, D5. Fired by the scheduler at a term end. One call moves one term: a job that
 * fires before the term end (clock skew, manual promotion) changes nothing, and the caller
 * reschedules it from the state; a job for a state that moved on (withdrawn, renewed, expired)
 * changes nothing either. Several terms in the past are caught up one job at a time, each leaving
 * its own event.
 *
 * The job guard: a command that names its term end (`dueAt`, the job's due time) applies only
 * while that is still the state's next term end. A job for a term already processed, delivered
 * again after the clock passed the next term end too, would otherwise move the subscription one
 * more term; decided here, on the state the append is checked against, it cannot.
 */
export function processTermEnd(
  command: ProcessTermEnd,
  state: SubscriptionState,
): SubscriptionEvent[] {
  const s = requireRegistered(state, command.data.subscriptionId);
  if (!isTermEndDue(s, command.data.dueAt ?? null)) return [];
  const now = toInstant(parseInstant(command.data.now, 'now'));
  // D8: a termination takes effect at its instant, before any renewal or other expiry.
  const termination = pendingTermination(s);
  if (termination)
    return isBefore(now, termination.effectiveAt)
      ? []
      : expire(s, termination.effectiveAt, now, termination.reason);
  switch (s.status) {
    case 'trial':
      return isBefore(now, s.expiresAt) ? [] : expire(s, s.expiresAt, now);
    case 'active':
      if (isBefore(now, s.currentTerm.end)) return [];
      return s.autoRenew ? renew(s, now, 'auto_renew') : expire(s, s.currentTerm.end, now);
    case 'cancellation_pending':
      if (!isBefore(now, s.expiresAt)) return expire(s, s.expiresAt, now);
      // R9: notice missed, the contract runs one more term before the cancellation takes effect.
      if (!isBefore(now, s.currentTerm.end)) return renew(s, now, 'notice_deadline_missed');
      return [];
    case 'expired':
    case 'purged':
      return [];
  }
}

/** Whether a term-end command for `dueAt` (null: any term end) is the one this state waits for. */
function isTermEndDue(state: SubscriptionState, dueAt: Instant | null): boolean {
  if (dueAt === null) return true;
  const due = nextTermEndDue(state);
  return due !== null && isSameInstant(due, dueAt);
}

/** When the next term-end job for this state is due, or null when none is (D5 rescheduling). */
export function nextTermEndDue(state: SubscriptionState): Instant | null {
  const termination = pendingTermination(state);
  if (termination) return termination.effectiveAt;
  switch (state.status) {
    case 'trial':
      return state.expiresAt;
    case 'active':
      return state.currentTerm.end;
    case 'cancellation_pending':
      return isBefore(state.currentTerm.end, state.expiresAt)
        ? state.currentTerm.end
        : state.expiresAt;
    default:
      return null;
  }
}
