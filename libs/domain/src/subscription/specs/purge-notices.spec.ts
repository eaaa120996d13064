import { DateTime } from 'luxon';
import { subscriptionDecider } from '../../deciders';
import { fold } from '../../kernel/decider';
import { toInstant } from '../../kernel/time';
import { deciderSpecification } from '../../testing/decider-specification';
import {
  ACC,
  after,
  billingAdmin,
  cancel,
  registered,
  SUB,
  termEnd,
} from '../../testing/subscription.fixtures';
import { plannedPurgeNotices } from '../decide/issue-purge-notice.decide';
import type { SubscriptionCommand } from '../subscription.commands';
import type { PurgeNoticeIssued, SubscriptionEvent } from '../subscription.events';

const spec = deciderSpecification(subscriptionDecider);
const at = (local: string): string => toInstant(DateTime.fromISO(local, { zone: 'Europe/Rome' }));
const minus = (instant: string, o: { seconds?: number; days?: number }): string =>
  toInstant(DateTime.fromISO(instant).minus(o));

// A monthly plan cancelled in July, expiring on 12 August 2026 (local midnight, Rome, CEST):
// purgeAt = 10 November 2026 00:00 CET. Summer time ends on 25 October, between the two notices
// of 30 days (11 October, CEST) and the purge: local wall-clock time keeps both at midnight.
const pending = after(
  [registered({ termStart: '2026-07-12T00:00:00+02:00' })],
  cancel(at('2026-07-20T00:00')),
);
const expired = after(pending, termEnd(at('2026-08-12T00:00')));
const PURGE_AT = '2026-11-09T23:00:00.000Z'; // 10 Nov 2026 00:00 in Rome (CET, +01:00)
const NOTICE_30 = '2026-10-10T22:00:00.000Z'; // 11 Oct 2026 00:00 in Rome (CEST, +02:00)
const NOTICE_7 = '2026-11-02T23:00:00.000Z'; // 3 Nov 2026 00:00 in Rome (CET)

const notice = (daysBefore: number, now: string, dueAt?: string): SubscriptionCommand => ({
  type: 'IssuePurgeNotice',
  data: { subscriptionId: SUB, daysBefore, now, ...(dueAt ? { dueAt } : {}) },
});
const issued = (daysBefore: number, noticeAt: string, issuedAt: string): PurgeNoticeIssued => ({
  type: 'PurgeNoticeIssued',
  data: {
    subscriptionId: SUB,
    accountId: ACC,
    productId: 'goto-meeting',
    purgeAt: PURGE_AT,
    daysBefore,
    noticeAt,
    issuedAt,
  },
});
const reactivate = (now: string): SubscriptionCommand => ({
  type: 'ReactivateSubscription',
  data: { subscriptionId: SUB, requestedBy: billingAdmin, channel: 'self_service', now },
});

describe('Purge notices (D7)', () => {
  it('D7: the expiry heads for the purge date the notices count back from', () => {
    expect(fold(subscriptionDecider, expired)).toMatchObject({
      status: 'expired',
      purgeAt: PURGE_AT,
    });
  });

  it('D7: at purgeAt − 30 days, local wall-clock time across the DST change, the first notice', () => {
    // 30 × 24 h before the purge would be 23:00 UTC, 01:00 local: one hour late.
    expect(NOTICE_30).not.toBe(minus(PURGE_AT, { seconds: 30 * 86_400 }));
    spec
      .given(expired)
      .when(notice(30, NOTICE_30, NOTICE_30))
      .then([
        {
          type: 'PurgeNoticeIssued',
          data: {
            subscriptionId: SUB,
            accountId: ACC,
            productId: 'goto-meeting',
            purgeAt: PURGE_AT,
            daysBefore: 30,
            noticeAt: NOTICE_30,
            issuedAt: NOTICE_30,
          },
        },
      ]);
  });

  it('D7: at purgeAt − 7 days the second notice', () => {
    spec
      .given([...expired, issued(30, NOTICE_30, NOTICE_30)])
      .when(notice(7, NOTICE_7, NOTICE_7))
      .then([issued(7, NOTICE_7, NOTICE_7)]);
  });

  it('D7: never early: one second before its instant a notice changes nothing (the job is put back)', () => {
    spec
      .given(expired)
      .when(notice(30, minus(NOTICE_30, { seconds: 1 })))
      .thenNothingHappens();
    spec
      .given([...expired, issued(30, NOTICE_30, NOTICE_30)])
      .when(notice(7, minus(NOTICE_7, { seconds: 1 }), NOTICE_7))
      .thenNothingHappens();
  });

  it('D7: never twice: a notice issued already is not issued again (a job delivered twice)', () => {
    const later = minus(PURGE_AT, { days: 20 });
    spec
      .given([...expired, issued(30, NOTICE_30, NOTICE_30)])
      .when(notice(30, later, NOTICE_30))
      .thenNothingHappens();
    spec
      .given([...expired, issued(30, NOTICE_30, NOTICE_30), issued(7, NOTICE_7, NOTICE_7)])
      .when(notice(7, minus(PURGE_AT, { seconds: 1 })))
      .thenNothingHappens();
  });

  it('D7: none before the expiry (a pending cancellation), none after a reactivation', () => {
    spec.given(pending).when(notice(30, NOTICE_30)).thenNothingHappens();
    const reactivated = after(expired, reactivate(at('2026-09-01T10:00')));
    spec
      .given(reactivated)
      .when(notice(30, NOTICE_30, NOTICE_30))
      .thenNothingHappens();
    spec
      .given(reactivated)
      .when(notice(7, NOTICE_7, NOTICE_7))
      .thenNothingHappens();
    expect(plannedPurgeNotices(fold(subscriptionDecider, reactivated), [30, 7])).toEqual([]);
  });

  it('D7: a legal hold does not stop notices; a deferred purge issues none again', () => {
    // The hold is an account fact the notice never asks about: notices go out up to the purge.
    const noticed = [...expired, issued(30, NOTICE_30, NOTICE_30)];
    const deferred: SubscriptionEvent[] = [
      ...noticed,
      {
        type: 'PurgeDeferred',
        data: {
          subscriptionId: SUB,
          accountId: ACC,
          deferredAt: PURGE_AT,
          purgeAt: PURGE_AT,
          reason: 'legal_hold',
        },
      },
    ];
    // The notice of 7 days was missed (the worker was down): after the deferral it is not issued.
    spec
      .given(deferred)
      .when(notice(7, PURGE_AT, NOTICE_7))
      .thenNothingHappens();
    spec
      .given(deferred)
      .when(notice(7, minus(PURGE_AT, { days: -30 })))
      .thenNothingHappens();
    expect(plannedPurgeNotices(fold(subscriptionDecider, deferred), [30, 7])).toEqual([
      { daysBefore: 30, noticeAt: NOTICE_30, issuedAt: NOTICE_30 },
    ]);
  });

  it('D7: a late notice goes out at once while the purge is ahead; none at or after purgeAt', () => {
    const late = minus(PURGE_AT, { days: 3 });
    spec
      .given([...expired, issued(30, NOTICE_30, NOTICE_30)])
      .when(notice(7, late, NOTICE_7))
      .then([issued(7, NOTICE_7, late)]);
    spec
      .given(expired)
      .when(notice(7, PURGE_AT, NOTICE_7))
      .thenNothingHappens();
  });

  it('D7: a notice with more days than one already issued is moot: not issued, not planned', () => {
    const sevenFirst = [...expired, issued(7, NOTICE_7, NOTICE_7)];
    spec
      .given(sevenFirst)
      .when(notice(30, NOTICE_7, NOTICE_30))
      .thenNothingHappens();
    expect(plannedPurgeNotices(fold(subscriptionDecider, sevenFirst), [30, 7])).toEqual([
      { daysBefore: 7, noticeAt: NOTICE_7, issuedAt: NOTICE_7 },
    ]);
  });

  it('D7: a job for another notice instant (an older purge date) changes nothing', () => {
    spec
      .given(expired)
      .when(notice(30, NOTICE_30, minus(NOTICE_30, { days: 1 })))
      .thenNothingHappens();
  });

  it('D7: the offsets are whole days inside the grace period (VALIDATION_FAILED otherwise)', () => {
    spec.given(expired).when(notice(0, NOTICE_30)).thenThrows('VALIDATION_FAILED');
    spec.given(expired).when(notice(90, NOTICE_30)).thenThrows('VALIDATION_FAILED');
    spec.given(expired).when(notice(1.5, NOTICE_30)).thenThrows('VALIDATION_FAILED');
  });

  it('D7: the state remembers the notices issued for its purge date; a new expiry starts afresh', () => {
    const state = fold(subscriptionDecider, [...expired, issued(30, NOTICE_30, NOTICE_30)]);
    expect(state).toMatchObject({
      noticesIssued: [{ daysBefore: 30, noticeAt: NOTICE_30, issuedAt: NOTICE_30 }],
    });
    const again = after(
      [...expired, issued(30, NOTICE_30, NOTICE_30)],
      reactivate(at('2026-09-01T10:00')),
    );
    expect(fold(subscriptionDecider, again)).not.toHaveProperty('noticesIssued');
  });

  it('D7: the planned notices: while pending (the cancellation announces them), once expired, with what was issued', () => {
    expect(plannedPurgeNotices(fold(subscriptionDecider, pending), [30, 7])).toEqual([
      { daysBefore: 30, noticeAt: NOTICE_30, issuedAt: null },
      { daysBefore: 7, noticeAt: NOTICE_7, issuedAt: null },
    ]);
    expect(
      plannedPurgeNotices(
        fold(subscriptionDecider, [...expired, issued(30, NOTICE_30, at('2026-10-11T00:05'))]),
        [7, 30],
      ),
    ).toEqual([
      { daysBefore: 30, noticeAt: NOTICE_30, issuedAt: at('2026-10-11T00:05') },
      { daysBefore: 7, noticeAt: NOTICE_7, issuedAt: null },
    ]);
    expect(plannedPurgeNotices(fold(subscriptionDecider, expired), [])).toEqual([]);
  });
});
