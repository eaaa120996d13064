import { DateTime } from 'luxon';
import { subscriptionDecider } from '../../deciders';
import { toInstant } from '../../kernel/time';
import { deciderSpecification } from '../../testing/decider-specification';
import {
  after,
  cancel,
  registered,
  SUB,
  termEnd,
  termEndJob,
  verification,
} from '../../testing/subscription.fixtures';
import { nextTermEndDue } from '../decide/process-term-end.decide';
import { fold } from '../../kernel/decider';

const spec = deciderSpecification(subscriptionDecider);
const rome = 'Europe/Rome';
const at = (local: string, zone = rome): string => toInstant(DateTime.fromISO(local, { zone }));
const minus1s = (instant: string): string =>
  toInstant(DateTime.fromISO(instant).minus({ seconds: 1 }));

const monthly = registered({ termStart: '2026-01-31T00:00:00+01:00' });
const feb28 = at('2026-02-28T00:00');

describe('ProcessTermEnd (fired by the scheduler at a term end)', () => {
  it('R14: a cancelled subscription expires exactly at expiresAt, with its purge date', () => {
    const pending = after([monthly], cancel(at('2026-02-10T00:00')));
    spec
      .given(pending)
      .when(termEnd(feb28))
      .then([
        {
          type: 'SubscriptionExpired',
          data: {
            subscriptionId: SUB,
            accountId: 'acc_1',
            productId: 'goto-meeting',
            expiresAt: feb28,
            expiredAt: feb28,
            purgeAt: at('2026-05-29T00:00'),
          },
        },
      ]);
  });

  it('R14: one second before the term end nothing happens', () => {
    const pending = after([monthly], cancel(at('2026-02-10T00:00')));
    spec
      .given(pending)
      .when(termEnd(minus1s(feb28)))
      .thenNothingHappens();
  });

  it('R14: with auto-renew on, the term end renews on the anchored calendar instead of expiring', () => {
    spec
      .given([monthly])
      .when(termEnd(feb28))
      .then([
        {
          type: 'SubscriptionRenewed',
          data: {
            subscriptionId: SUB,
            accountId: 'acc_1',
            renewedAt: feb28,
            previousTerm: { start: at('2026-01-31T00:00'), end: feb28 },
            termIndex: 1,
            currentTerm: { start: feb28, end: at('2026-03-31T00:00') },
            reason: 'auto_renew',
          },
        },
      ]);
  });

  it('R14: several overdue term ends are caught up one term per job, each with its own event', () => {
    const late = at('2026-05-15T00:00');
    const history = after([monthly], termEnd(late), termEnd(late), termEnd(late), termEnd(late));
    const renewals = history.filter((e) => e.type === 'SubscriptionRenewed');
    expect(renewals.map((e) => e.data.currentTerm.end)).toEqual([
      at('2026-03-31T00:00'),
      at('2026-04-30T00:00'),
      at('2026-05-31T00:00'),
    ]);
    // The fourth job found the term not yet over: nothing.
    expect(history).toHaveLength(4);
  });

  it('R14: auto-renew off without a cancellation (registered so) expires at the term end', () => {
    const noRenew = registered({ autoRenew: false });
    expect(
      spec
        .given([noRenew])
        .when(termEnd(feb28))
        .thenEvents()
        .map((e) => e.type),
    ).toEqual(['SubscriptionExpired']);
  });

  it('R11: a trial simply expires at its end', () => {
    const trial = registered({
      plan: { kind: 'trial', trialDays: 14 },
      termStart: '2026-02-01T00:00:00+01:00',
    });
    spec
      .given([trial])
      .when(termEnd(minus1s(at('2026-02-15T00:00'))))
      .thenNothingHappens();
    const events = spec
      .given([trial])
      .when(termEnd(at('2026-02-15T00:00')))
      .thenEvents();
    expect(events).toEqual([
      expect.objectContaining({
        type: 'SubscriptionExpired',
        data: expect.objectContaining({ expiresAt: at('2026-02-15T00:00') }),
      }),
    ]);
  });

  it('R18: expiry of a GoTo Room subscription also revokes the room meeting account; the hardware stays', () => {
    const room = registered({ productId: 'goto-room', autoRenew: false });
    const events = spec.given([room]).when(termEnd(feb28)).thenEvents();
    expect(events.map((e) => e.type)).toEqual(['SubscriptionExpired', 'RoomMeetingAccountRevoked']);
    expect(events[1]!.data).toMatchObject({
      revoked: ['instant_meeting', 'screen_sharing'],
      hardwareRetainedByCustomer: true,
    });
  });

  it('R18: other products have no room account to revoke', () => {
    const events = spec
      .given([registered({ autoRenew: false })])
      .when(termEnd(feb28))
      .thenEvents();
    expect(events.map((e) => e.type)).not.toContain('RoomMeetingAccountRevoked');
  });

  it('R9: a fixed-term contract that missed its notice renews once at the renewal date, then expires', () => {
    const fixed = registered({
      plan: { kind: 'fixed_term', termMonths: 15 },
      contract: true,
      termStart: '2026-01-15T00:00:00+01:00',
    });
    const history = after(
      [fixed],
      cancel(at('2027-04-01T00:00'), { channel: 'support', verification }),
    );
    const renewal = spec
      .given(history)
      .when(termEnd(at('2027-04-15T00:00')))
      .thenEvents();
    expect(renewal).toEqual([
      expect.objectContaining({
        type: 'SubscriptionRenewed',
        data: expect.objectContaining({ reason: 'notice_deadline_missed' }),
      }),
    ]);
    const renewed = [...history, ...renewal];
    expect(fold(subscriptionDecider, renewed)).toMatchObject({ status: 'cancellation_pending' });
    spec
      .given(renewed)
      .when(termEnd(minus1s(at('2028-07-15T00:00'))))
      .thenNothingHappens();
    expect(
      spec
        .given(renewed)
        .when(termEnd(at('2028-07-15T00:00')))
        .thenEvents()[0]!.type,
    ).toBe('SubscriptionExpired');
  });

  it('D5: a job that fires early changes nothing, and the state says when it is due', () => {
    spec
      .given([monthly])
      .when(termEnd(at('2026-02-27T23:59:59')))
      .thenNothingHappens();
    expect(nextTermEndDue(fold(subscriptionDecider, [monthly]))).toBe(feb28);
  });

  it('D5: a stale job for an expired subscription changes nothing', () => {
    const expired = after([registered({ autoRenew: false })], termEnd(feb28));
    spec
      .given(expired)
      .when(termEnd(at('2026-03-31T00:00')))
      .thenNothingHappens();
    expect(nextTermEndDue(fold(subscriptionDecider, expired))).toBeNull();
  });

  it('R14: the expiry is recorded at the clock time of the job, purge date from the scheduled expiry', () => {
    const late = at('2026-03-02T08:00');
    const [expired] = spec
      .given([registered({ autoRenew: false })])
      .when(termEnd(late))
      .thenEvents();
    expect(expired!.data).toMatchObject({
      expiresAt: feb28,
      expiredAt: late,
      purgeAt: at('2026-05-29T00:00'),
    });
  });
});

describe('ProcessTermEnd from a term-end job (the job guard: dueAt names the term end)', () => {
  const mar31 = at('2026-03-31T00:00');
  const apr15 = at('2026-04-15T00:00');

  it('the job for the next term end decides as the plain command does', () => {
    spec
      .given([monthly])
      .when(termEndJob(feb28, feb28))
      .then(spec.given([monthly]).when(termEnd(feb28)).thenEvents());
  });

  it('a job delivered again after the clock passed the next term end too moves one term, not two', () => {
    const once = after([monthly], termEndJob(feb28, apr15));
    expect(once.map((e) => e.type)).toEqual(['SubscriptionRegistered', 'SubscriptionRenewed']);
    spec.given(once).when(termEndJob(feb28, apr15)).thenNothingHappens();
    // Without the guard the same command would catch up the next term as well.
    expect(
      spec
        .given(once)
        .when(termEnd(apr15))
        .thenEvents()
        .map((e) => e.type),
    ).toEqual(['SubscriptionRenewed']);
  });

  it('a job for another term end than the one the state waits for changes nothing', () => {
    spec.given([monthly]).when(termEndJob(mar31, apr15)).thenNothingHappens();
  });

  it('a job for an expired subscription changes nothing (no term end is due)', () => {
    const expired = after([registered({ autoRenew: false })], termEnd(feb28));
    spec.given(expired).when(termEndJob(feb28, apr15)).thenNothingHappens();
  });

  it('the due time compares as an instant, whatever its text', () => {
    const events = spec
      .given([monthly])
      .when(termEndJob('2026-02-28T00:00:00+01:00', feb28))
      .thenEvents();
    expect(events.map((e) => e.type)).toEqual(['SubscriptionRenewed']);
  });

  it('early: the job for the next term end, fired before it, changes nothing (the caller delays it)', () => {
    spec
      .given([monthly])
      .when(termEndJob(feb28, minus1s(feb28)))
      .thenNothingHappens();
  });

  it('a job for a subscription that does not exist is refused (NOT_FOUND), not skipped', () => {
    spec.given([]).when(termEndJob(feb28, feb28)).thenThrows('NOT_FOUND');
  });
});
