import fc from 'fast-check';
import { DateTime } from 'luxon';
import { purgeDateFor } from '../../calendar/term-calendar';
import { subscriptionDecider } from '../../deciders';
import { PERSONAL_DATA_FIELDS } from '../../personal-data';
import { fold } from '../../kernel/decider';
import { DomainError } from '../../kernel/domain-error';
import { isBefore, toInstant } from '../../kernel/time';
import type { Actor } from '../../kernel/actor';
import { deciderSpecification } from '../../testing/decider-specification';
import {
  ACC,
  after,
  billingAdmin,
  cancel,
  registered,
  SUB,
  termEnd,
  termEndJob,
} from '../../testing/subscription.fixtures';
import type { SubscriptionCommand } from '../subscription.commands';
import type { SubscriptionEvent, TerminationReason } from '../subscription.events';
import { nextTermEndDue } from '../decide/process-term-end.decide';
import { previewCancellation } from '../cancellation-preview';
import type { RegisteredSubscription } from '../subscription.state';

const spec = deciderSpecification(subscriptionDecider);
const at = (local: string): string => toInstant(DateTime.fromISO(local, { zone: 'Europe/Rome' }));
const billing: Actor = { actorId: 'svc_billing', role: 'user' };

const terminate = (
  now: string,
  effective: string,
  reason: TerminationReason = 'payment_failed',
  note: string | null = null,
): SubscriptionCommand => ({
  type: 'ScheduleTermination',
  data: { subscriptionId: SUB, requestedBy: billing, reason, effective, note, now },
});
const revoke = (now: string): SubscriptionCommand => ({
  type: 'RevokeTermination',
  data: { subscriptionId: SUB, requestedBy: billing, now },
});
const reactivate = (now: string): SubscriptionCommand => ({
  type: 'ReactivateSubscription',
  data: { subscriptionId: SUB, requestedBy: billingAdmin, channel: 'self_service', now },
});
const withdraw = (now: string): SubscriptionCommand => ({
  type: 'WithdrawCancellation',
  data: { subscriptionId: SUB, requestedBy: billingAdmin, channel: 'self_service', now },
});

// Monthly from Jan 31 (Rome): the first term ends Feb 28, 00:00 local.
const monthly = registered({ termStart: '2026-01-31T00:00:00+01:00' });
const TERM_END = at('2026-02-28T00:00');

describe('ScheduleTermination (D8)', () => {
  it('D8: a termination at the term end is scheduled: TerminationScheduled, expiry moved there, purge 90 days later', () => {
    const now = at('2026-02-10T09:00');
    spec
      .given([monthly])
      .when(terminate(now, 'term_end'))
      .then([
        {
          type: 'TerminationScheduled',
          data: {
            subscriptionId: SUB,
            accountId: ACC,
            productId: 'goto-meeting',
            reason: 'payment_failed',
            effective: 'term_end',
            effectiveAt: TERM_END,
            purgeAt: at('2026-05-29T00:00'),
            requestedBy: billing,
            channel: 'system',
            requestedAt: now,
            note: null,
          },
        },
      ]);
    const state = fold(subscriptionDecider, after([monthly], terminate(now, 'term_end')));
    expect(state).toMatchObject({
      status: 'active',
      expiresAt: TERM_END,
      termination: { reason: 'payment_failed', effectiveAt: TERM_END },
    });
  });

  it('D8: at effectiveAt the subscription expires with cause terminated, though auto-renew is on; never before', () => {
    const effectiveAt = at('2026-02-15T12:00');
    const scheduled = after([monthly], terminate(at('2026-02-10T09:00'), effectiveAt));
    expect(nextTermEndDue(fold(subscriptionDecider, scheduled))).toBe(effectiveAt);
    spec
      .given(scheduled)
      .when(termEnd(at('2026-02-15T11:59')))
      .thenNothingHappens();
    // The job scheduled before the termination (for the term end) no longer applies.
    spec.given(scheduled).when(termEndJob(TERM_END, TERM_END)).thenNothingHappens();
    spec
      .given(scheduled)
      .when(termEndJob(effectiveAt, at('2026-02-15T12:00:05')))
      .then([
        {
          type: 'SubscriptionExpired',
          data: {
            subscriptionId: SUB,
            accountId: ACC,
            productId: 'goto-meeting',
            expiresAt: effectiveAt,
            expiredAt: at('2026-02-15T12:00:05'),
            purgeAt: at('2026-05-16T12:00'),
            cause: 'terminated',
            terminationReason: 'payment_failed',
          },
        },
      ]);
  });

  it('D8: immediately writes the termination and the expiry in one decision (and R18 for a GoTo Room)', () => {
    const now = at('2026-02-10T09:00');
    const room = registered({ productId: 'goto-room', termStart: '2026-01-31T00:00:00+01:00' });
    const events = spec
      .given([room])
      .when(terminate(now, 'immediately', 'fraud'))
      .thenEvents();
    expect(events.map((e) => e.type)).toEqual([
      'TerminationScheduled',
      'SubscriptionExpired',
      'RoomMeetingAccountRevoked',
    ]);
    expect(events[1]!.data).toMatchObject({
      expiresAt: now,
      expiredAt: now,
      purgeAt: at('2026-05-11T09:00'),
      cause: 'terminated',
    });
    expect(fold(subscriptionDecider, [room, ...events])).toMatchObject({
      status: 'expired',
      termination: { reason: 'fraud' },
    });
  });

  it('D8: an instant must lie between now and the term end (VALIDATION_FAILED otherwise), and be an instant', () => {
    const now = at('2026-02-10T09:00');
    spec
      .given([monthly])
      .when(terminate(now, at('2026-02-10T08:59')))
      .thenThrows('VALIDATION_FAILED');
    spec
      .given([monthly])
      .when(terminate(now, at('2026-02-28T00:01')))
      .thenThrows('VALIDATION_FAILED');
    spec.given([monthly]).when(terminate(now, 'next tuesday')).thenThrows('VALIDATION_FAILED');
    expect(spec.given([monthly]).when(terminate(now, TERM_END)).thenEvents()).toHaveLength(1);
  });

  it('D8: R4–R9 do not apply: a contract subscription (no self-service) with a plain user is terminated all the same', () => {
    const contract = registered({ productId: 'goto-connect', contract: true });
    expect(
      spec
        .given([contract])
        .when(terminate(at('2026-02-10T09:00'), 'term_end'))
        .thenEvents()
        .map((e) => e.type),
    ).toEqual(['TerminationScheduled']);
  });

  it('D8: a trial can be terminated', () => {
    const trial = registered({ plan: { kind: 'trial', trialDays: 14 } });
    const events = after([trial], terminate(at('2026-02-05T00:00'), 'immediately', 'fraud'));
    expect(fold(subscriptionDecider, events)).toMatchObject({ status: 'expired' });
  });

  it('D8: an earlier termination moves a pending cancellation’s expiry earlier; revoked, the cancellation’s own dates come back', () => {
    const pending = after([monthly], cancel(at('2026-02-05T00:00')));
    expect(fold(subscriptionDecider, pending)).toMatchObject({ expiresAt: TERM_END });
    const effectiveAt = at('2026-02-20T00:00');
    const terminated = after(pending, terminate(at('2026-02-10T00:00'), effectiveAt));
    expect(fold(subscriptionDecider, terminated)).toMatchObject({
      status: 'cancellation_pending',
      expiresAt: effectiveAt,
      purgeAt: purgeDateFor(effectiveAt, 'Europe/Rome'),
    });
    expect(
      fold(subscriptionDecider, after(terminated, revoke(at('2026-02-11T00:00')))),
    ).toMatchObject({
      status: 'cancellation_pending',
      expiresAt: TERM_END,
      purgeAt: at('2026-05-29T00:00'),
    });
  });

  it('D8: a withdrawal (D1) does not undo a termination', () => {
    const effectiveAt = at('2026-02-20T00:00');
    const history = after(
      [monthly],
      cancel(at('2026-02-05T00:00')),
      terminate(at('2026-02-10T00:00'), effectiveAt),
      withdraw(at('2026-02-12T00:00')),
    );
    expect(fold(subscriptionDecider, history)).toMatchObject({
      status: 'active',
      expiresAt: effectiveAt,
      termination: { effectiveAt },
    });
    expect(spec.given(history).when(termEnd(effectiveAt)).thenEvents()[0]!.data).toMatchObject({
      cause: 'terminated',
      expiresAt: effectiveAt,
    });
  });

  it('D8: while a termination is pending the customer has nothing to cancel (INVALID_STATE)', () => {
    const scheduled = after([monthly], terminate(at('2026-02-10T00:00'), 'term_end'));
    spec
      .given(scheduled)
      .when(cancel(at('2026-02-11T00:00')))
      .thenThrows('INVALID_STATE');
  });

  it('D8: the same termination again changes nothing; another one waits for a revocation', () => {
    const scheduled = after([monthly], terminate(at('2026-02-10T00:00'), 'term_end'));
    spec
      .given(scheduled)
      .when(terminate(at('2026-02-11T00:00'), 'term_end'))
      .thenNothingHappens();
    spec
      .given(scheduled)
      .when(terminate(at('2026-02-11T00:00'), 'immediately', 'fraud'))
      .thenThrows('INVALID_STATE', /revoke/);
  });

  it('D8: an expired or purged subscription cannot be terminated (INVALID_STATE)', () => {
    const expired = after([registered({ autoRenew: false })], termEnd(TERM_END));
    spec
      .given(expired)
      .when(terminate(at('2026-03-01T00:00'), 'immediately'))
      .thenThrows('INVALID_STATE');
  });
});

describe('RevokeTermination (D8)', () => {
  const scheduled = after([monthly], terminate(at('2026-02-10T00:00'), 'term_end'));

  it('D8: revoked before effectiveAt: TerminationRevoked, and the subscription renews again', () => {
    const now = at('2026-02-11T00:00');
    spec
      .given(scheduled)
      .when(revoke(now))
      .then([
        {
          type: 'TerminationRevoked',
          data: {
            subscriptionId: SUB,
            accountId: ACC,
            requestedBy: billing,
            channel: 'system',
            revokedAt: now,
            reason: 'payment_failed',
            effectiveAtDropped: TERM_END,
          },
        },
      ]);
    const revoked = after(scheduled, revoke(now));
    expect(fold(subscriptionDecider, revoked)).toMatchObject({ status: 'active', expiresAt: null });
    expect(fold(subscriptionDecider, revoked)).not.toHaveProperty('termination');
    expect(spec.given(revoked).when(termEnd(TERM_END)).thenEvents()[0]!.type).toBe(
      'SubscriptionRenewed',
    );
  });

  it('D8: at effectiveAt, or once expired, it is too late (INVALID_STATE); with nothing pending, nothing happens', () => {
    spec.given(scheduled).when(revoke(TERM_END)).thenThrows('INVALID_STATE');
    spec
      .given(after(scheduled, termEnd(TERM_END)))
      .when(revoke(at('2026-03-01T00:00')))
      .thenThrows('INVALID_STATE');
    spec
      .given([monthly])
      .when(revoke(at('2026-02-11T00:00')))
      .thenNothingHappens();
  });
});

describe('Reactivation after a termination (D8, D2)', () => {
  const terminatedFor = (reason: TerminationReason) =>
    after([monthly], terminate(at('2026-02-10T00:00'), 'immediately', reason));

  it('D8: refused for reason fraud, and the refusal is recorded (D6): ReactivationRefused, state unchanged', () => {
    const history = terminatedFor('fraud');
    const events = spec
      .given(history)
      .when(reactivate(at('2026-03-01T00:00')))
      .thenEvents();
    expect(events).toEqual([
      {
        type: 'ReactivationRefused',
        data: {
          subscriptionId: SUB,
          accountId: ACC,
          code: 'INVALID_STATE',
          rule: 'D8',
          message: expect.stringMatching(/fraud/) as string,
          requestedBy: billingAdmin,
          channel: 'self_service',
          refusedAt: at('2026-03-01T00:00'),
        },
      },
    ]);
    expect(fold(subscriptionDecider, [...history, ...events])).toEqual(
      fold(subscriptionDecider, history),
    );
  });

  it('D8: for another reason the grace period holds (D2): reactivated, the termination is over', () => {
    const events = after(terminatedFor('payment_failed'), reactivate(at('2026-03-01T00:00')));
    const state = fold(subscriptionDecider, events);
    expect(state).toMatchObject({ status: 'active', expiresAt: null });
    expect(state).not.toHaveProperty('termination');
  });
});

describe('the cancellation preview of a subscription being terminated (D8, R19)', () => {
  it('D8: the preview shows the termination’s dates and refuses: there is nothing to cancel', () => {
    const effectiveAt = at('2026-02-20T00:00');
    const state = fold(
      subscriptionDecider,
      after([monthly], terminate(at('2026-02-10T00:00'), effectiveAt)),
    ) as RegisteredSubscription;
    const preview = previewCancellation(
      state,
      'billing_admin',
      'self_service',
      at('2026-02-11T00:00'),
    );
    expect(preview).toMatchObject({
      allowed: false,
      effectiveAt,
      purgeAt: purgeDateFor(effectiveAt, 'Europe/Rome'),
      refusals: [expect.objectContaining({ code: 'INVALID_STATE', rule: 'D8' })],
    });
  });
});

describe('the termination note (D8, R17)', () => {
  it('D8: the note is personal data: encrypted in the store, shredded with the keys', () => {
    expect(PERSONAL_DATA_FIELDS.TerminationScheduled).toEqual(['note']);
  });
});

describe('termination invariants (property tests)', () => {
  // Random terminations (any reason, any kind of effective) at random moments of a random
  // history, with term-end jobs and purges at random clock moves.
  const ZONES = ['Europe/Rome', 'America/New_York', 'Australia/Lord_Howe', 'UTC'];
  const stepArb = fc.record({
    advanceMs: fc.oneof(
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 0, max: 60 * 24 * 3600 * 1000 }),
    ),
    kind: fc.constantFrom('terminate', 'revoke', 'termEnd', 'termEnd', 'purge', 'cancel'),
    reason: fc.constantFrom<TerminationReason>('payment_failed', 'fraud', 'other'),
    effective: fc.oneof(
      fc.constant('immediately'),
      fc.constant('term_end'),
      fc.double({ min: 0, max: 1, noNaN: true }),
    ),
  });

  it('D8: a termination never expires a subscription before effectiveAt, never purges before effectiveAt + 90 days', () => {
    let terminatedExpiries = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.boolean(),
        fc.array(stepArb, { minLength: 1, maxLength: 25 }),
        (timeZone, autoRenew, steps) => {
          let now = '2026-01-31T00:00:00.000Z';
          let history: SubscriptionEvent[] = [registered({ termStart: now, timeZone, autoRenew })];
          let effectiveAt: string | null = null;
          for (const step of steps) {
            now = toInstant(DateTime.fromISO(now).plus({ milliseconds: step.advanceMs }));
            const state = fold(subscriptionDecider, history);
            let command: SubscriptionCommand;
            if (step.kind === 'terminate') {
              let effective = String(step.effective);
              if (typeof step.effective === 'number' && 'currentTerm' in state) {
                const from = DateTime.fromISO(now).toMillis();
                const to = DateTime.fromISO(state.currentTerm.end).toMillis();
                effective = toInstant(
                  DateTime.fromMillis(Math.round(from + Math.max(0, to - from) * step.effective)),
                );
              }
              command = terminate(now, effective, step.reason);
            } else if (step.kind === 'revoke') command = revoke(now);
            else if (step.kind === 'cancel') command = cancel(now);
            else if (step.kind === 'purge')
              command = {
                type: 'StartPurge',
                data: { subscriptionId: SUB, purgeId: 'p', holders: [], legalHold: false, now },
              };
            else command = termEnd(now);
            let events: SubscriptionEvent[];
            try {
              events = subscriptionDecider.decide(command, state);
            } catch (e) {
              if (e instanceof DomainError) continue;
              throw e;
            }
            for (const e of events) {
              if (e.type === 'TerminationScheduled') effectiveAt = e.data.effectiveAt;
              if (e.type === 'TerminationRevoked') effectiveAt = null;
              if (e.type === 'SubscriptionExpired' && e.data.cause === 'terminated') {
                terminatedExpiries++;
                expect(effectiveAt).not.toBeNull();
                expect(isBefore(e.data.expiredAt, effectiveAt!)).toBe(false);
                expect(e.data.expiresAt).toBe(effectiveAt);
                expect(e.data.purgeAt).toBe(purgeDateFor(effectiveAt!, timeZone));
              }
              if (e.type === 'PurgeStarted' && effectiveAt !== null) {
                expect(isBefore(e.data.startedAt, purgeDateFor(effectiveAt, timeZone))).toBe(false);
              }
            }
            history = [...history, ...events];
          }
        },
      ),
      { numRuns: 300 },
    );
    // The property saw terminations take effect (it is not vacuous).
    expect(terminatedExpiries).toBeGreaterThan(20);
  });
});
