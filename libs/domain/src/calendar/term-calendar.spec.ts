import { DateTime } from 'luxon';
import type { Plan } from '../subscription/plan';
import { toInstant } from '../kernel/time';
import {
  noticeDeadlineFor,
  purgeDateFor,
  termAt,
  termBoundary,
  termIndexAt,
} from './term-calendar';

const monthly: Plan = { kind: 'monthly' };
const annual: Plan = { kind: 'annual' };

/** Instant of a local wall-clock time in a zone, in our canonical UTC form. */
const at = (local: string, zone: string): string => toInstant(DateTime.fromISO(local, { zone }));
/** The same instant read back as local wall-clock time with its offset. */
const local = (instant: string, zone: string): string =>
  DateTime.fromISO(instant).setZone(zone).toISO({ suppressMilliseconds: true })!;

describe('term calendar (D4)', () => {
  const rome = 'Europe/Rome';
  const anchorJan31 = at('2026-01-31T00:00', rome);

  it('D4: a monthly plan started on Jan 31 ends its terms on Feb 28, Mar 31, Apr 30 and never drifts', () => {
    const ends = [1, 2, 3, 4].map((k) => local(termBoundary(anchorJan31, rome, monthly, k), rome));
    expect(ends).toEqual([
      '2026-02-28T00:00:00+01:00',
      '2026-03-31T00:00:00+02:00',
      '2026-04-30T00:00:00+02:00',
      '2026-05-31T00:00:00+02:00',
    ]);
  });

  it('D4: the same monthly plan ends on Feb 29 in the leap year 2028', () => {
    expect(local(termBoundary(anchorJan31, rome, monthly, 25), rome)).toBe(
      '2028-02-29T00:00:00+01:00',
    );
    expect(local(termBoundary(anchorJan31, rome, monthly, 26), rome)).toBe(
      '2028-03-31T00:00:00+02:00',
    );
  });

  it('D4: an annual plan started on Feb 29 ends on Feb 28 in common years and Feb 29 in leap years', () => {
    const anchor = at('2028-02-29T09:00', rome);
    expect(local(termBoundary(anchor, rome, annual, 1), rome)).toBe('2029-02-28T09:00:00+01:00');
    expect(local(termBoundary(anchor, rome, annual, 3), rome)).toBe('2031-02-28T09:00:00+01:00');
    expect(local(termBoundary(anchor, rome, annual, 4), rome)).toBe('2032-02-29T09:00:00+01:00');
  });

  it('D4: a 15-month fixed term adds 15 months per term from the anchor', () => {
    const plan: Plan = { kind: 'fixed_term', termMonths: 15 };
    const anchor = at('2026-01-31T00:00', rome);
    expect(local(termBoundary(anchor, rome, plan, 1), rome)).toBe('2027-04-30T00:00:00+02:00');
    // Anchored: the second term ends on the 31st again, not on the 30th of the first end.
    expect(local(termBoundary(anchor, rome, plan, 2), rome)).toBe('2028-07-31T00:00:00+02:00');
  });

  it('D4: a trial lasts trialDays days', () => {
    const plan: Plan = { kind: 'trial', trialDays: 14 };
    const anchor = at('2026-03-20T10:00', rome);
    // Crosses the spring DST change on Mar 29: still 10:00 local.
    expect(local(termAt(anchor, rome, plan, 0).end, rome)).toBe('2026-04-03T10:00:00+02:00');
  });

  it('D4: Europe/Rome keeps the local wall-clock time across both DST changes', () => {
    const anchor = at('2026-02-15T09:00', rome);
    expect(local(termBoundary(anchor, rome, monthly, 2), rome)).toBe('2026-04-15T09:00:00+02:00');
    expect(local(termBoundary(anchor, rome, monthly, 9), rome)).toBe('2026-11-15T09:00:00+01:00');
  });

  it('D4: America/New_York keeps the local wall-clock time across both DST changes', () => {
    const ny = 'America/New_York';
    const anchor = at('2026-01-10T23:30', ny);
    expect(local(termBoundary(anchor, ny, monthly, 3), ny)).toBe('2026-04-10T23:30:00-04:00');
    expect(local(termBoundary(anchor, ny, monthly, 10), ny)).toBe('2026-11-10T23:30:00-05:00');
  });

  it('D4: a term ending in a DST gap moves forward, and the next term is anchored again', () => {
    // 02:30 does not exist in Rome on 2026-03-29 (02:00 → 03:00).
    const anchor = at('2026-01-29T02:30', rome);
    expect(local(termBoundary(anchor, rome, monthly, 2), rome)).toBe('2026-03-29T03:30:00+02:00');
    expect(local(termBoundary(anchor, rome, monthly, 3), rome)).toBe('2026-04-29T02:30:00+02:00');
  });

  it('D4: Australia/Lord_Howe (30-minute DST shift) keeps the local time', () => {
    const lh = 'Australia/Lord_Howe';
    const anchor = at('2026-03-01T12:00', lh);
    expect(local(anchor, lh)).toBe('2026-03-01T12:00:00+11:00');
    expect(local(termBoundary(anchor, lh, monthly, 2), lh)).toBe('2026-05-01T12:00:00+10:30');
    expect(termBoundary(anchor, lh, monthly, 2)).toBe('2026-05-01T01:30:00.000Z');
  });

  it('D4: Asia/Kathmandu (+05:45) computes terms in local time', () => {
    const kt = 'Asia/Kathmandu';
    const anchor = at('2026-01-31T00:00', kt);
    expect(termBoundary(anchor, kt, monthly, 1)).toBe('2026-02-27T18:15:00.000Z');
    expect(local(termBoundary(anchor, kt, monthly, 1), kt)).toBe('2026-02-28T00:00:00+05:45');
  });

  it('D4: +90 days is 90 calendar days at the same local time across a DST change (Rome, spring)', () => {
    const expiresAt = at('2026-01-31T00:00', rome);
    const purgeAt = purgeDateFor(expiresAt, rome);
    expect(local(purgeAt, rome)).toBe('2026-05-01T00:00:00+02:00');
    // 90 local days but one hour less in absolute time: the clocks went forward.
    expect(DateTime.fromISO(purgeAt).diff(DateTime.fromISO(expiresAt), 'hours').hours).toBe(
      90 * 24 - 1,
    );
  });

  it('D4: +90 days across the autumn change in New York keeps 10:00 local', () => {
    const ny = 'America/New_York';
    expect(local(purgeDateFor(at('2026-09-15T10:00', ny), ny), ny)).toBe(
      '2026-12-14T10:00:00-05:00',
    );
  });

  it('R9: the notice deadline is 30 calendar days before the renewal date, local time', () => {
    const renewal = at('2026-04-15T00:00', rome);
    expect(local(noticeDeadlineFor(renewal, rome), rome)).toBe('2026-03-16T00:00:00+01:00');
  });

  describe('term containing an instant (registration with an anchor in the past)', () => {
    it('D4: finds the anchored term that contains now', () => {
      const anchor = at('2025-01-31T00:00', rome);
      const now = at('2026-03-15T12:00', rome);
      const k = termIndexAt(anchor, rome, monthly, now);
      expect(k).toBe(13);
      const term = termAt(anchor, rome, monthly, k);
      expect([local(term.start, rome), local(term.end, rome)]).toEqual([
        '2026-02-28T00:00:00+01:00',
        '2026-03-31T00:00:00+02:00',
      ]);
    });

    it('D4: a boundary instant belongs to the term it starts ([start, end))', () => {
      const k = termIndexAt(
        anchorJan31,
        rome,
        monthly,
        termBoundary(anchorJan31, rome, monthly, 5),
      );
      expect(k).toBe(5);
      const justBefore = toInstant(
        DateTime.fromISO(termBoundary(anchorJan31, rome, monthly, 5)).minus({ milliseconds: 1 }),
      );
      expect(termIndexAt(anchorJan31, rome, monthly, justBefore)).toBe(4);
    });

    it('D4: an anchor in the future is term 0', () => {
      expect(termIndexAt(anchorJan31, rome, annual, at('2025-06-01T00:00', rome))).toBe(0);
    });
  });
});
