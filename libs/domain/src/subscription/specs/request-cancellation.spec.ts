import { DateTime } from 'luxon';
import { subscriptionDecider } from '../../deciders';
import { toInstant } from '../../kernel/time';
import { deciderSpecification } from '../../testing/decider-specification';
import {
  ACC,
  after,
  billingAdmin,
  billingContact,
  cancel,
  cancelled,
  plainUser,
  productAdmin,
  registered,
  SUB,
  termEnd,
  verification,
} from '../../testing/subscription.fixtures';
import type { CancellationRefused, SubscriptionEvent } from '../subscription.events';

const spec = deciderSpecification(subscriptionDecider);
const rome = 'Europe/Rome';
const at = (local: string, zone = rome): string => toInstant(DateTime.fromISO(local, { zone }));

const monthlyJan31 = registered({ termStart: '2026-01-31T00:00:00+01:00' });
const midFebruary = at('2026-02-10T15:00');

function refusal(events: SubscriptionEvent[]): CancellationRefused['data'] {
  expect(events).toHaveLength(1);
  const [e] = events;
  expect(e!.type).toBe('CancellationRefused');
  return (e as CancellationRefused).data;
}

describe('RequestCancellation', () => {
  it('R1: cancelling turns auto-renew off: CancellationRequested then AutoRenewDisabled', () => {
    const events = spec.given([monthlyJan31]).when(cancel(midFebruary)).thenEvents();
    expect(events.map((e) => e.type)).toEqual(['CancellationRequested', 'AutoRenewDisabled']);
    expect(events[1]).toEqual({
      type: 'AutoRenewDisabled',
      data: {
        subscriptionId: SUB,
        accountId: ACC,
        disabledAt: midFebruary,
        reason: 'cancellation_requested',
      },
    });
  });

  it('R1: the cancellation does not end access: the state is cancellation_pending with auto-renew off', () => {
    const state = spec.given([monthlyJan31]).when(cancel(midFebruary)).thenState();
    expect(state).toMatchObject({ status: 'cancellation_pending', autoRenew: false });
  });

  it('R2: a monthly plan cancelled mid-month stays active to the end of the month', () => {
    const [requested] = spec.given([monthlyJan31]).when(cancel(midFebruary)).thenEvents();
    expect(requested).toMatchObject({
      type: 'CancellationRequested',
      data: {
        requestedAt: midFebruary,
        expiresAt: at('2026-02-28T00:00'),
        effectiveAt: at('2026-02-28T00:00'),
      },
    });
  });

  it('R2: an annual plan cancelled after 6 months stays active for the remaining 6', () => {
    const annual = registered({ plan: { kind: 'annual' }, termStart: '2026-01-01T00:00:00+01:00' });
    const [requested] = spec
      .given([annual])
      .when(cancel(at('2026-07-01T00:00')))
      .thenEvents();
    expect(requested!.data).toMatchObject({ expiresAt: at('2027-01-01T00:00') });
    expect(requested!.data).toMatchObject({ purgeAt: at('2027-04-01T00:00') });
  });

  it('R3: every cancellation states refund "none"', () => {
    const [requested] = spec.given([monthlyJan31]).when(cancel(midFebruary)).thenEvents();
    expect(requested!.data).toMatchObject({ refund: 'none' });
  });

  describe('R4: who may cancel', () => {
    it('R4: a billing_admin may cancel', () => {
      const events = spec
        .given([monthlyJan31])
        .when(cancel(midFebruary, { requestedBy: billingAdmin }))
        .thenEvents();
      expect(events[0]!.type).toBe('CancellationRequested');
    });

    it('R4: on a contract account a product_admin or an authorized_billing_contact may cancel (through support)', () => {
      const contract = registered({ contract: true });
      for (const actor of [productAdmin, billingContact]) {
        const events = spec
          .given([contract])
          .when(cancel(midFebruary, { requestedBy: actor, channel: 'support', verification }))
          .thenEvents();
        expect(events.map((e) => e.type)).toEqual(['CancellationRequested', 'AutoRenewDisabled']);
      }
    });

    it('R4: without a contract, a product_admin is refused with the roles that may cancel', () => {
      const r = refusal(
        spec
          .given([monthlyJan31])
          .when(
            cancel(midFebruary, { requestedBy: productAdmin, channel: 'support', verification }),
          )
          .thenEvents(),
      );
      expect(r).toMatchObject({ code: 'FORBIDDEN_ROLE', rule: 'R4' });
      expect(r.message).toMatch(/billing_admin/);
    });

    it('R4: a plain user is refused even on a contract account', () => {
      const r = refusal(
        spec
          .given([registered({ contract: true })])
          .when(cancel(midFebruary, { requestedBy: plainUser, channel: 'support', verification }))
          .thenEvents(),
      );
      expect(r.code).toBe('FORBIDDEN_ROLE');
      expect(r.message).toMatch(/billing_admin, product_admin, authorized_billing_contact/);
    });
  });

  it('R5: through self_service only a billing_admin may cancel', () => {
    // A contract account lets a product_admin cancel, but only through support (R5 and R8).
    const r = refusal(
      spec
        .given([registered({ contract: true })])
        .when(cancel(midFebruary, { requestedBy: productAdmin }))
        .thenEvents(),
    );
    expect(r.code).toBe('CONTACT_SUPPORT');
    const all = spec.given([registered({ contract: true })]);
    expect(
      all
        .when(cancel(midFebruary, { requestedBy: productAdmin, channel: 'support', verification }))
        .thenEvents()[0]!.type,
    ).toBe('CancellationRequested');
  });

  it('R6: an outstanding balance refuses self_service with the reason; support may still cancel', () => {
    const owing = registered({ outstandingBalance: { amount: '12.50', currency: 'EUR' } });
    const r = refusal(spec.given([owing]).when(cancel(midFebruary)).thenEvents());
    expect(r).toMatchObject({ code: 'OUTSTANDING_BALANCE', rule: 'R6' });
    expect(r.message).toMatch(/12\.50 EUR/);
    const viaSupport = spec
      .given([owing])
      .when(cancel(midFebruary, { channel: 'support', verification }))
      .thenEvents();
    expect(viaSupport[0]!.type).toBe('CancellationRequested');
  });

  it('R6: a zero balance does not block', () => {
    const zero = registered({ outstandingBalance: { amount: '0.00', currency: 'EUR' } });
    expect(spec.given([zero]).when(cancel(midFebruary)).thenEvents()[0]!.type).toBe(
      'CancellationRequested',
    );
  });

  it('R7: products outside the self-service list answer "contact support"; support may cancel them', () => {
    for (const productId of [
      'goto-connect',
      'goto-room',
      'rescue',
      'central',
      'pro',
      'gotomypc',
      'resolve',
    ]) {
      const sub = registered({ productId });
      const r = refusal(spec.given([sub]).when(cancel(midFebruary)).thenEvents());
      expect(r).toMatchObject({ code: 'CONTACT_SUPPORT', rule: 'R7' });
      const viaSupport = spec
        .given([sub])
        .when(cancel(midFebruary, { channel: 'support', verification }))
        .thenEvents();
      expect(viaSupport[0]!.type).toBe('CancellationRequested');
    }
  });

  it('R7: the six self-service products cancel online', () => {
    for (const productId of [
      'goto-meeting',
      'goto-webinar',
      'goto-training',
      'openvoice',
      'gotoassist-rs-v5',
      'gotoassist-rs-v4',
    ]) {
      expect(
        spec
          .given([registered({ productId })])
          .when(cancel(midFebruary))
          .thenEvents()[0]!.type,
      ).toBe('CancellationRequested');
    }
  });

  it('R8: a contract account cannot cancel through self_service; the refusal says to contact support', () => {
    const r = refusal(
      spec
        .given([registered({ contract: true })])
        .when(cancel(midFebruary))
        .thenEvents(),
    );
    expect(r).toMatchObject({ code: 'CONTACT_SUPPORT', rule: 'R8' });
    expect(r.message).toMatch(/contact support/);
  });

  describe('R9: notice period of fixed-term contracts', () => {
    const fixed = registered({
      plan: { kind: 'fixed_term', termMonths: 15 },
      contract: true,
      termStart: '2026-01-15T00:00:00+01:00',
    });
    // Renewal date 2027-04-15 00:00 Rome; deadline 2027-03-16 00:00 Rome.
    const viaSupport = (now: string) => cancel(now, { channel: 'support', verification });

    it('R9: at least 30 days of notice ends the contract at the renewal date', () => {
      const [requested] = spec
        .given([fixed])
        .when(viaSupport(at('2027-03-16T00:00')))
        .thenEvents();
      expect(requested!.data).toMatchObject({
        renewalDate: at('2027-04-15T00:00'),
        noticeDeadline: at('2027-03-16T00:00'),
        noticeDeadlineMissed: false,
        expiresAt: at('2027-04-15T00:00'),
      });
    });

    it('R9: less than 30 days of notice rolls the contract one more term and says so', () => {
      const [requested] = spec
        .given([fixed])
        .when(viaSupport(at('2027-03-16T00:00:01')))
        .thenEvents();
      expect(requested!.data).toMatchObject({
        renewalDate: at('2027-04-15T00:00'),
        noticeDeadline: at('2027-03-16T00:00'),
        noticeDeadlineMissed: true,
        // One more 15-month term.
        expiresAt: at('2028-07-15T00:00'),
        purgeAt: at('2028-10-13T00:00'),
        policyVersion: expect.stringMatching(/^cancellation-policy\//),
      });
    });

    it('R9: monthly and annual plans have no notice period', () => {
      const [requested] = spec
        .given([monthlyJan31])
        .when(cancel(at('2026-02-27T23:00')))
        .thenEvents();
      expect(requested!.data).toMatchObject({ noticeDeadline: null, noticeDeadlineMissed: false });
    });
  });

  it('R10: a support cancellation carries what the agent verified (account, email, card digits, address, products)', () => {
    const [requested] = spec
      .given([monthlyJan31])
      .when(cancel(midFebruary, { channel: 'support', verification }))
      .thenEvents();
    expect(requested!.data).toMatchObject({
      accountId: ACC,
      verification,
      verifiedProducts: ['goto-meeting'],
      channel: 'support',
    });
  });

  it('R10: a support cancellation without verification is malformed: refused and nothing is written', () => {
    spec
      .given([monthlyJan31])
      .when(cancel(midFebruary, { channel: 'support' }))
      .thenThrows('VALIDATION_FAILED', /R10/);
  });

  it('R11: a trial needs no cancellation: refused with that explanation, state unchanged', () => {
    const trial = registered({
      plan: { kind: 'trial', trialDays: 14 },
      termStart: '2026-02-01T00:00:00+01:00',
    });
    const r = refusal(
      spec
        .given([trial])
        .when(cancel(at('2026-02-05T00:00')))
        .thenEvents(),
    );
    expect(r).toMatchObject({ code: 'TRIAL_NEEDS_NO_CANCELLATION', rule: 'R11' });
    expect(r.message).toMatch(/simply expires/);
    expect(
      spec
        .given([trial])
        .when(cancel(at('2026-02-05T00:00')))
        .thenState(),
    ).toMatchObject({ status: 'trial' });
  });

  it('R12: the survey is optional: a reason and comment, or nothing', () => {
    const survey = { reason: 'too_expensive' as const, comment: 'Costa troppo per il nostro team' };
    const withSurvey = spec
      .given([monthlyJan31])
      .when(cancel(midFebruary, { survey }))
      .thenEvents();
    expect(withSurvey[0]!.data).toMatchObject({ survey });
    const skipped = spec.given([monthlyJan31]).when(cancel(midFebruary)).thenEvents();
    expect(skipped[0]!.data).toMatchObject({ survey: null });
  });

  it('R13: cancelling is allowed any time before the term end', () => {
    for (const now of [at('2026-01-31T00:00'), at('2026-02-27T23:59:59')]) {
      expect(spec.given([monthlyJan31]).when(cancel(now)).thenEvents()[0]!.type).toBe(
        'CancellationRequested',
      );
    }
  });

  it('R13: a second request while already pending changes nothing (no new events)', () => {
    const history = [monthlyJan31, ...cancelled([monthlyJan31], midFebruary)];
    spec
      .given(history)
      .when(cancel(at('2026-02-20T00:00')))
      .thenNothingHappens();
  });

  it('R13: after expiry there is nothing to cancel (INVALID_STATE, nothing written)', () => {
    const expired = after([monthlyJan31], cancel(midFebruary), termEnd(at('2026-02-28T00:00')));
    expect(expired.map((e) => e.type)).toContain('SubscriptionExpired');
    spec
      .given(expired)
      .when(cancel(at('2026-03-01T00:00')))
      .thenThrows('INVALID_STATE');
  });

  it('D6: a refusal is one CancellationRefused event with code, actor and channel, and changes no state', () => {
    const owing = registered({ outstandingBalance: { amount: '1.00', currency: 'EUR' } });
    const events = spec
      .given([owing])
      .when(cancel(midFebruary, { requestedBy: billingAdmin }))
      .thenEvents();
    expect(events).toEqual([
      {
        type: 'CancellationRefused',
        data: expect.objectContaining({
          subscriptionId: SUB,
          accountId: ACC,
          code: 'OUTSTANDING_BALANCE',
          requestedBy: billingAdmin,
          channel: 'self_service',
          refusedAt: midFebruary,
        }),
      },
    ]);
    const before = spec.given([owing]).when(cancel(midFebruary)).thenState();
    expect(before).toEqual(subscriptionDecider.evolve(subscriptionDecider.initialState(), owing));
  });

  it('D6: a cancellation of a subscription that does not exist is NOT_FOUND and writes nothing', () => {
    spec.given([]).when(cancel(midFebruary)).thenThrows('NOT_FOUND');
  });
});
