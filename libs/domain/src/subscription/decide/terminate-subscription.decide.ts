import { purgeDateFor } from '../../calendar/term-calendar';
import { invalidState, validationFailed } from '../../kernel/domain-error';
import { type Instant, isBefore, isSameInstant, parseInstant, toInstant } from '../../kernel/time';
import type { RevokeTermination, ScheduleTermination } from '../subscription.commands';
import type {
  SubscriptionEvent,
  TerminationEffective,
  TerminationRevoked,
  TerminationScheduled,
} from '../subscription.events';
import {
  pendingTermination,
  type RegisteredSubscription,
  type SubscriptionState,
} from '../subscription.state';
import { expire } from './process-term-end.decide';
import { requireRegistered } from './require-registered';

/**
 * D8: a platform service ends a subscription without the customer (failed dunning, a chargeback,
 * fraud, a breached contract). The customer's rules (R4–R9) do not apply. The subscription expires
 * at `effectiveAt` (with `immediately`, in the same append) and its purge follows 90 days later
 * (D4). `effectiveAt` lies between now and the end of the current term, so a termination never
 * moves an expiry later; a pending cancellation's expiry moves earlier.
 */
export function scheduleTermination(
  command: ScheduleTermination,
  state: SubscriptionState,
): SubscriptionEvent[] {
  const c = command.data;
  const s = requireRegistered(state, c.subscriptionId);
  const now = toInstant(parseInstant(c.now, 'now'));
  if (s.status === 'expired' || s.status === 'purged')
    throw invalidState(
      `Subscription ${s.subscriptionId} has already ${s.status}; there is nothing to terminate.`,
      { status: s.status },
    );
  const end = scheduledEnd(s);
  const { effective, effectiveAt } = effectiveInstant(c.effective, now, end);
  const pending = pendingTermination(s);
  if (pending) {
    // The same termination again changes nothing; another one waits for a revocation.
    if (pending.reason === c.reason && isSameInstant(pending.effectiveAt, effectiveAt)) return [];
    throw invalidState(
      `Subscription ${s.subscriptionId} is already being terminated (${pending.reason}) at ${pending.effectiveAt}; revoke that termination first.`,
      { reason: pending.reason, effectiveAt: pending.effectiveAt },
    );
  }
  const scheduled: TerminationScheduled = {
    type: 'TerminationScheduled',
    data: {
      subscriptionId: s.subscriptionId,
      accountId: s.accountId,
      productId: s.productId,
      reason: c.reason,
      effective,
      effectiveAt,
      purgeAt: purgeDateFor(effectiveAt, s.timeZone),
      requestedBy: c.requestedBy,
      channel: 'system',
      requestedAt: now,
      note: c.note ?? null,
    },
  };
  if (effective !== 'immediately') return [scheduled];
  return [scheduled, ...expire(s, effectiveAt, now, c.reason)];
}

/** D8: revoked before it takes effect; afterwards the subscription has expired (409). */
export function revokeTermination(
  command: RevokeTermination,
  state: SubscriptionState,
): [TerminationRevoked] | [] {
  const c = command.data;
  const s = requireRegistered(state, c.subscriptionId);
  const now = toInstant(parseInstant(c.now, 'now'));
  const pending = pendingTermination(s);
  if (!pending) {
    if (s.status === 'expired' || s.status === 'purged')
      throw invalidState(
        `Subscription ${s.subscriptionId} has already ${s.status}; a termination can only be revoked before it takes effect.`,
        { status: s.status },
      );
    return []; // nothing to revoke (a repeat): changes nothing
  }
  if (!isBefore(now, pending.effectiveAt))
    throw invalidState(
      `The termination took effect at ${pending.effectiveAt}; it can no longer be revoked.`,
      { effectiveAt: pending.effectiveAt },
    );
  return [
    {
      type: 'TerminationRevoked',
      data: {
        subscriptionId: s.subscriptionId,
        accountId: s.accountId,
        requestedBy: c.requestedBy,
        channel: 'system',
        revokedAt: now,
        reason: pending.reason,
        effectiveAtDropped: pending.effectiveAt,
      },
    },
  ];
}

/** Where the subscription ends today if nothing else happens: its expiry, else its term's end. */
function scheduledEnd(s: RegisteredSubscription): Instant {
  const termEnd = s.currentTerm.end;
  if (
    (s.status === 'trial' || s.status === 'cancellation_pending') &&
    isBefore(s.expiresAt, termEnd)
  )
    return s.expiresAt;
  return termEnd;
}

function effectiveInstant(
  asked: string,
  now: Instant,
  end: Instant,
): { effective: TerminationEffective; effectiveAt: Instant } {
  if (asked === 'immediately') return { effective: 'immediately', effectiveAt: now };
  // A term already over (its job not run yet) ends now.
  if (asked === 'term_end')
    return { effective: 'term_end', effectiveAt: isBefore(end, now) ? now : end };
  let at: Instant;
  try {
    at = toInstant(parseInstant(asked, 'effective'));
  } catch {
    throw validationFailed(
      'effective must be "immediately", "term_end" or an ISO 8601 instant with an offset.',
      { field: 'effective' },
    );
  }
  if (isBefore(at, now) || isBefore(end, at))
    throw validationFailed(
      `effective must lie between now (${now}) and the current term's end (${end}).`,
      {
        field: 'effective',
        now,
        termEnd: end,
      },
    );
  return { effective: 'instant', effectiveAt: at };
}
