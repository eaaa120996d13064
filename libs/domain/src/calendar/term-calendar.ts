import { DateTime, Duration } from 'luxon';
import type { Plan } from '../subscription/plan';
import { inZone, type Instant, toInstant } from '../kernel/time';

/**
 * Term calendar (D4). Every term boundary is computed from the anchor (the first term's start) in
 * the account's time zone: term k ends at anchor + k × length. Adding k × length to the anchor,
 * rather than one length to the previous end, is what keeps a plan started on Jan 31 ending on
 * Mar 31 after a short February instead of drifting to the 28th.
 */

export interface Term {
  readonly start: Instant;
  readonly end: Instant;
}

/** Days from expiry to purge (R15). */
export const PURGE_GRACE_DAYS = 90;
/** Notice a fixed-term contract needs before its renewal date (R9). */
export const FIXED_TERM_NOTICE_DAYS = 30;

function termLength(plan: Plan, k: number): Duration {
  switch (plan.kind) {
    case 'monthly':
      return Duration.fromObject({ months: k });
    case 'annual':
      return Duration.fromObject({ years: k });
    case 'fixed_term':
      return Duration.fromObject({ months: k * plan.termMonths });
    case 'trial':
      return Duration.fromObject({ days: k * plan.trialDays });
  }
}

/** Boundary k of the anchored calendar (k = 0 is the anchor itself). */
export function termBoundary(anchor: Instant, timeZone: string, plan: Plan, k: number): Instant {
  return toInstant(inZone(anchor, timeZone).plus(termLength(plan, k)));
}

/** Term k: [boundary k, boundary k+1). */
export function termAt(anchor: Instant, timeZone: string, plan: Plan, k: number): Term {
  return {
    start: termBoundary(anchor, timeZone, plan, k),
    end: termBoundary(anchor, timeZone, plan, k + 1),
  };
}

/** Months (or days, for trials) in one term: used to estimate k before correcting it exactly. */
function unitsPerTerm(plan: Plan): { unit: 'months' | 'days'; n: number } {
  switch (plan.kind) {
    case 'monthly':
      return { unit: 'months', n: 1 };
    case 'annual':
      return { unit: 'months', n: 12 };
    case 'fixed_term':
      return { unit: 'months', n: plan.termMonths };
    case 'trial':
      return { unit: 'days', n: plan.trialDays };
  }
}

/**
 * Index of the term containing `at` (0 when `at` is before the anchor). Trials have a single term.
 * Used when a subscription bought elsewhere is registered with an anchor in the past.
 */
export function termIndexAt(anchor: Instant, timeZone: string, plan: Plan, at: Instant): number {
  if (plan.kind === 'trial') return 0;
  const a = inZone(anchor, timeZone);
  const t = inZone(at, timeZone);
  if (t <= a) return 0;
  const { unit, n } = unitsPerTerm(plan);
  let k = Math.max(0, Math.floor(t.diff(a, unit).get(unit) / n));
  // The estimate can be off by one around month ends and DST; correct it against exact boundaries.
  const boundary = (i: number): DateTime =>
    inZone(termBoundary(anchor, timeZone, plan, i), timeZone);
  while (k > 0 && boundary(k) > t) k--;
  while (boundary(k + 1) <= t) k++;
  return k;
}

/**
 * A pure function of (instant, zone) remembered for the instants last asked about. Term ends
 * cluster (month ends, the same anchor for a whole cohort), and calendar arithmetic in an IANA
 * zone is the costliest step of a decision (luxon asks Intl for the offset several times).
 * Bounded: the whole memo is dropped when it is full.
 */
function zonedMemo(compute: (at: Instant, timeZone: string) => Instant, max = 10_000) {
  const memo = new Map<string, Instant>();
  return (at: Instant, timeZone: string): Instant => {
    const key = `${at} ${timeZone}`;
    let value = memo.get(key);
    if (value === undefined) {
      value = compute(at, timeZone);
      if (memo.size >= max) memo.clear();
      memo.set(key, value);
    }
    return value;
  };
}

/** Purge date: expiry + 90 calendar days at the same local wall-clock time (D4, R15). */
export const purgeDateFor: (expiresAt: Instant, timeZone: string) => Instant = zonedMemo(
  (expiresAt, timeZone) => toInstant(inZone(expiresAt, timeZone).plus({ days: PURGE_GRACE_DAYS })),
);

/** Last moment a fixed-term contract can be cancelled without rolling one more term (R9). */
export const noticeDeadlineFor: (renewalDate: Instant, timeZone: string) => Instant = zonedMemo(
  (renewalDate, timeZone) =>
    toInstant(inZone(renewalDate, timeZone).minus({ days: FIXED_TERM_NOTICE_DAYS })),
);

/** D7: days before the purge at which a notice is issued, unless configured (PURGE_NOTICE_DAYS). */
export const DEFAULT_PURGE_NOTICE_DAYS: readonly number[] = Object.freeze([30, 7]);

/**
 * D7: when the notice `daysBefore` days before a purge is due: purgeAt minus that many calendar
 * days at the same local wall-clock time in the account's zone (D4), across DST changes.
 */
export function purgeNoticeDateFor(
  purgeAt: Instant,
  timeZone: string,
  daysBefore: number,
): Instant {
  let forOffset = noticeDates.get(daysBefore);
  if (!forOffset) {
    // One memo per offset (a handful are configured): a cancellation asks for each twice.
    forOffset = zonedMemo((at, zone) => toInstant(inZone(at, zone).minus({ days: daysBefore })));
    noticeDates.set(daysBefore, forOffset);
  }
  return forOffset(purgeAt, timeZone);
}
const noticeDates = new Map<number, (at: Instant, timeZone: string) => Instant>();
