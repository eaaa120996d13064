import { DateTime } from 'luxon';
import { subscriptionDecider } from '../../deciders';
import { fold } from '../../kernel/decider';
import { toInstant } from '../../kernel/time';
import { deciderSpecification } from '../../testing/decider-specification';
import {
  ACC,
  after,
  cancel,
  registered,
  SUB,
  termEnd,
  updateFacts,
  purgeWithoutHolders,
} from '../../testing/subscription.fixtures';
import { previewCancellation } from '../cancellation-preview';
import type { SubscriptionEvent } from '../subscription.events';
import type { RegisteredSubscription } from '../subscription.state';

const spec = deciderSpecification(subscriptionDecider);
const at = (local: string): string => toInstant(DateTime.fromISO(local, { zone: 'Europe/Rome' }));
const stateOf = (events: SubscriptionEvent[]) =>
  fold(subscriptionDecider, events) as RegisteredSubscription;

const monthly = registered({ termStart: '2026-01-31T00:00:00+01:00', assignedLicences: 3 });
const owing = registered({
  termStart: '2026-01-31T00:00:00+01:00',
  outstandingBalance: { amount: '30.00', currency: 'EUR' },
  assignedLicences: 12,
});
const feb5 = at('2026-02-05T10:00');
const feb10 = at('2026-02-10T10:00');
const billing = { actorId: 'svc_billing_run_7', role: 'user' as const };

describe('UpdateBillingFacts (D9)', () => {
  it('D9: a new balance is recorded with both facts as they are now and as they were', () => {
    spec
      .given([monthly])
      .when(updateFacts(feb5, { outstandingBalance: { amount: '45.10', currency: 'EUR' } }))
      .then([
        {
          type: 'BillingFactsUpdated',
          data: {
            subscriptionId: SUB,
            accountId: ACC,
            outstandingBalance: { amount: '45.10', currency: 'EUR' },
            assignedLicences: 3,
            previous: { outstandingBalance: null, assignedLicences: 3 },
            requestedBy: null,
            channel: 'system',
            updatedAt: feb5,
          },
        },
      ]);
  });

  it('D9: new licences alone keep the balance; the person billing names is recorded', () => {
    spec
      .given([owing])
      .when(updateFacts(feb5, { assignedLicences: 7 }, { requestedBy: billing }))
      .then([
        {
          type: 'BillingFactsUpdated',
          data: {
            subscriptionId: SUB,
            accountId: ACC,
            outstandingBalance: { amount: '30.00', currency: 'EUR' },
            assignedLicences: 7,
            previous: {
              outstandingBalance: { amount: '30.00', currency: 'EUR' },
              assignedLicences: 12,
            },
            requestedBy: billing,
            channel: 'system',
            updatedAt: feb5,
          },
        },
      ]);
  });

  it('D9: the state holds the latest facts, not those given at registration', () => {
    const state = spec
      .given([owing])
      .when(
        updateFacts(feb5, {
          outstandingBalance: { amount: '0.00', currency: 'EUR' },
          assignedLicences: 0,
        }),
      )
      .thenState();
    expect(state).toMatchObject({
      status: 'active',
      outstandingBalance: { amount: '0.00', currency: 'EUR' },
      assignedLicences: 0,
    });
  });

  it('D9: written only when a value changes: the same values (an amount spelt otherwise too) write nothing', () => {
    spec
      .given([owing])
      .when(
        updateFacts(feb5, {
          outstandingBalance: { amount: '30.00', currency: 'EUR' },
          assignedLicences: 12,
        }),
      )
      .thenNothingHappens();
    spec
      .given([owing])
      .when(updateFacts(feb5, { outstandingBalance: { amount: '030.0', currency: 'EUR' } }))
      .thenNothingHappens();
    spec
      .given([owing])
      .when(updateFacts(feb5, { assignedLicences: 12 }))
      .thenNothingHappens();
    const updated = after([monthly], updateFacts(feb5, { assignedLicences: 4 }));
    spec
      .given(updated)
      .when(updateFacts(feb10, { assignedLicences: 4 }))
      .thenNothingHappens();
  });

  it('D9: another currency is another value', () => {
    const [event] = spec
      .given([owing])
      .when(updateFacts(feb5, { outstandingBalance: { amount: '30.00', currency: 'USD' } }))
      .thenEvents();
    expect(event!.type).toBe('BillingFactsUpdated');
  });

  it('D9: at least one fact must be given; licences are a whole number ≥ 0; amounts are decimals', () => {
    spec.given([owing]).when(updateFacts(feb5, {})).thenThrows('VALIDATION_FAILED');
    spec
      .given([owing])
      .when(updateFacts(feb5, { assignedLicences: -1 }))
      .thenThrows('VALIDATION_FAILED');
    spec
      .given([owing])
      .when(updateFacts(feb5, { assignedLicences: 1.5 }))
      .thenThrows('VALIDATION_FAILED');
    spec
      .given([owing])
      .when(updateFacts(feb5, { outstandingBalance: { amount: 'lots', currency: 'EUR' } }))
      .thenThrows('VALIDATION_FAILED');
  });

  it('D9: an unknown subscription is NOT_FOUND', () => {
    spec
      .given([])
      .when(updateFacts(feb5, { assignedLicences: 1 }))
      .thenThrows('NOT_FOUND');
  });

  it('D9: facts change while cancellation_pending and after expiry, and change nothing else', () => {
    const pending = after([monthly], cancel(feb10));
    const before = stateOf(pending);
    const state = spec
      .given(pending)
      .when(updateFacts(feb10, { outstandingBalance: { amount: '5.00', currency: 'EUR' } }))
      .thenState();
    expect(state).toEqual({ ...before, outstandingBalance: { amount: '5.00', currency: 'EUR' } });

    const expired = after(pending, termEnd(at('2026-02-28T00:00')));
    const beforeExpired = stateOf(expired);
    const afterExpired = spec
      .given(expired)
      .when(updateFacts(at('2026-03-02T00:00'), { assignedLicences: 0 }))
      .thenState();
    expect(afterExpired).toEqual({ ...beforeExpired, assignedLicences: 0 });
  });

  it('D9: a purged subscription has no facts left to update (INVALID_STATE)', () => {
    const purgeAt = at('2026-05-29T00:00');
    const purged = after(
      [monthly],
      cancel(feb10),
      termEnd(at('2026-02-28T00:00')),
      ...purgeWithoutHolders('p-1', purgeAt),
    );
    expect(stateOf(purged).status).toBe('purged');
    spec
      .given(purged)
      .when(updateFacts(at('2026-06-01T00:00'), { assignedLicences: 0 }))
      .thenThrows('INVALID_STATE', /purged/);
  });
});

describe('R6 and R19 on the latest billing facts (D9)', () => {
  it('D9/R6: a balance that appears after registration refuses self-service cancellation', () => {
    const nowOwing = after(
      [monthly],
      updateFacts(feb5, { outstandingBalance: { amount: '19.90', currency: 'EUR' } }),
    );
    const [refused] = spec.given(nowOwing).when(cancel(feb10)).thenEvents();
    expect(refused).toMatchObject({
      type: 'CancellationRefused',
      data: { code: 'OUTSTANDING_BALANCE', rule: 'R6', message: expect.stringMatching(/19\.90/) },
    });
    // Support may still cancel (R6).
    const events = spec
      .given(nowOwing)
      .when(
        cancel(feb10, {
          channel: 'support',
          verification: {
            billingAdminEmail: 'a@example.it',
            paymentLast4: '4242',
            billingAddress: 'Via Roma 1',
          },
        }),
      )
      .thenEvents();
    expect(events.map((e) => e.type)).toEqual(['CancellationRequested', 'AutoRenewDisabled']);
  });

  it('D9/R6: a balance given at registration and then settled no longer refuses it', () => {
    const refused = spec.given([owing]).when(cancel(feb10)).thenEvents();
    expect(refused.map((e) => e.type)).toEqual(['CancellationRefused']);
    const settled = after(
      [owing],
      updateFacts(feb5, { outstandingBalance: { amount: '0.00', currency: 'EUR' } }),
    );
    const events = spec.given(settled).when(cancel(feb10)).thenEvents();
    expect(events.map((e) => e.type)).toEqual(['CancellationRequested', 'AutoRenewDisabled']);
  });

  it('D9/R19: the preview shows and decides on the latest balance and licences', () => {
    const settled = after(
      [owing],
      updateFacts(feb5, {
        outstandingBalance: { amount: '0.00', currency: 'EUR' },
        assignedLicences: 2,
      }),
    );
    const p = previewCancellation(stateOf(settled), 'billing_admin', 'self_service', feb10);
    expect(p).toMatchObject({
      allowed: true,
      refusals: [],
      outstandingBalance: { amount: '0.00', currency: 'EUR' },
      assignedLicences: 2,
    });
    expect(p.checklist.map((i) => i.code)).not.toContain('OUTSTANDING_BALANCE');
    expect(p.checklist.find((i) => i.code === 'LICENCES_IN_USE')?.message).toMatch(/^2 /);

    const owingAgain = after(
      settled,
      updateFacts(feb10, { outstandingBalance: { amount: '12.00', currency: 'EUR' } }),
    );
    const q = previewCancellation(stateOf(owingAgain), 'billing_admin', 'self_service', feb10);
    expect(q.allowed).toBe(false);
    expect(q.refusals.map((r) => r.rule)).toEqual(['R6']);
    expect(q.outstandingBalance).toEqual({ amount: '12.00', currency: 'EUR' });
  });
});
