import { PURGE_GRACE_DAYS, purgeNoticeDateFor } from '../../calendar/term-calendar';
import { validationFailed } from '../../kernel/domain-error';
import { isBefore, type Instant, isSameInstant, parseInstant, toInstant } from '../../kernel/time';
import type { IssuePurgeNotice } from '../subscription.commands';
import type { PurgeNoticeIssued } from '../subscription.events';
import {
  type IssuedPurgeNotice,
  pendingTermination,
  type SubscriptionState,
} from '../subscription.state';
import { requireRegistered } from './require-registered';

/** A purge notice as planned for a state (D7): issued (`issuedAt`) or still to come (null). */
export interface PlannedPurgeNotice {
  readonly daysBefore: number;
  readonly noticeAt: Instant;
  readonly issuedAt: Instant | null;
}

/** Whether `days` is an offset a notice can have: a whole number of days inside the grace period. */
export const isPurgeNoticeOffset = (days: number): boolean =>
  Number.isInteger(days) && days >= 1 && days < PURGE_GRACE_DAYS;

/**
 * The purge date a state is heading for, if its notices are still to be decided: a pending
 * cancellation's or termination's, or an expired subscription's while its purge has neither
 * started nor been deferred (a deferred purge is past its date: no notice again).
 */
function purgeAhead(state: SubscriptionState): Instant | null {
  switch (state.status) {
    case 'cancellation_pending':
      return state.purgeAt;
    case 'expired':
      return state.purge === null && !state.purgeDeferred ? state.purgeAt : null;
    case 'trial':
    case 'active':
      return pendingTermination(state)?.purgeAt ?? null;
    default:
      return null;
  }
}

const issuedOf = (state: SubscriptionState): readonly IssuedPurgeNotice[] =>
  state.status === 'expired' ? (state.noticesIssued ?? []) : [];

/**
 * D7: the purge notices of this state, in notice order (most days first): those issued for its
 * purge date, and those the offsets (configuration, e.g. [30, 7]) still plan. A notice with more
 * days than one already issued is moot (a later notice went out first) and is not planned. Empty
 * when the state heads for no purge (active, reactivated, purged). Pure: the scheduler derives
 * its notice jobs from it and the API shows it.
 */
export function plannedPurgeNotices(
  state: SubscriptionState,
  offsets: readonly number[],
): PlannedPurgeNotice[] {
  const issued = issuedOf(state);
  const purgeAt = purgeAhead(state);
  const notices: PlannedPurgeNotice[] = issued.map((n) => ({ ...n }));
  if (purgeAt !== null && state.status !== 'unregistered') {
    const fewest = Math.min(...issued.map((n) => n.daysBefore));
    for (const daysBefore of new Set(offsets)) {
      if (!isPurgeNoticeOffset(daysBefore)) continue;
      if (issued.some((n) => n.daysBefore === daysBefore) || daysBefore > fewest) continue;
      notices.push({
        daysBefore,
        noticeAt: purgeNoticeDateFor(purgeAt, state.timeZone, daysBefore),
        issuedAt: null,
      });
    }
  }
  return notices.sort((a, b) => b.daysBefore - a.daysBefore);
}

/**
 * D7: the notices the offsets plan for a purge date announced (a cancellation's or a
 * termination's answer), none issued yet, in notice order.
 */
export function purgeNoticesFor(
  purgeAt: Instant,
  timeZone: string,
  offsets: readonly number[],
): PlannedPurgeNotice[] {
  return [...new Set(offsets)]
    .filter(isPurgeNoticeOffset)
    .sort((a, b) => b - a)
    .map((daysBefore) => ({
      daysBefore,
      noticeAt: purgeNoticeDateFor(purgeAt, timeZone, daysBefore),
      issuedAt: null,
    }));
}

/**
 * D7. Fired by the scheduler at `purgeAt − daysBefore` days (local wall-clock time). Issues one
 * PurgeNoticeIssued while the subscription heads for its purge: expired, not reactivated, purge
 * neither started, deferred nor done. Returns nothing (the job is stale, or early and put back)
 * when:
 * - the state is not expired (reactivated, still pending, purged) or its purge started or was
 *   deferred (a deferred purge issues none again);
 * - the job names another notice instant (`dueAt`: a job for an older purge date);
 * - this notice was issued already (never twice), or one with fewer days was (moot);
 * - it is early: before `noticeAt` (never early, D5);
 * - it is too late: at or after `purgeAt` (the purge is due; a notice after the fact helps nobody).
 * A late notice otherwise goes out at once (a worker that was down, odd data), for its purge date.
 */
export function issuePurgeNotice(
  command: IssuePurgeNotice,
  state: SubscriptionState,
): [PurgeNoticeIssued] | [] {
  const c = command.data;
  if (!isPurgeNoticeOffset(c.daysBefore))
    throw validationFailed(
      `daysBefore must be a whole number of days from 1 to ${PURGE_GRACE_DAYS - 1}.`,
      { daysBefore: c.daysBefore },
    );
  const s = requireRegistered(state, c.subscriptionId);
  const now = toInstant(parseInstant(c.now, 'now'));
  if (s.status !== 'expired' || s.purge !== null || s.purgeDeferred) return [];
  const noticeAt = purgeNoticeDateFor(s.purgeAt, s.timeZone, c.daysBefore);
  if (c.dueAt != null && !isSameInstant(c.dueAt, noticeAt)) return [];
  const issued = s.noticesIssued ?? [];
  if (issued.some((n) => n.daysBefore <= c.daysBefore)) return [];
  if (isBefore(now, noticeAt) || !isBefore(now, s.purgeAt)) return [];
  return [
    {
      type: 'PurgeNoticeIssued',
      data: {
        subscriptionId: s.subscriptionId,
        accountId: s.accountId,
        productId: s.productId,
        purgeAt: s.purgeAt,
        daysBefore: c.daysBefore,
        noticeAt,
        issuedAt: now,
      },
    },
  ];
}
