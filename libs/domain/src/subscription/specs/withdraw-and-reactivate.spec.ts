import { DateTime } from 'luxon';
import { subscriptionDecider } from '../../deciders';
import { fold } from '../../kernel/decider';
import { toInstant } from '../../kernel/time';
import { deciderSpecification } from '../../testing/decider-specification';
import {
  after,
  billingAdmin,
  cancel,
  plainUser,
  registered,
  SUB,
  termEnd,
  purgeWithoutHolders,
} from '../../testing/subscription.fixtures';
import type { SubscriptionCommand } from '../subscription.commands';

const spec = deciderSpecification(subscriptionDecider);
const at = (local: string): string => toInstant(DateTime.fromISO(local, { zone: 'Europe/Rome' }));

const monthly = registered({ termStart: '2026-01-31T00:00:00+01:00' });
const pending = after([monthly], cancel(at('2026-02-10T00:00')));
const expired = after(pending, termEnd(at('2026-02-28T00:00')));
const withdraw = (now: string, requestedBy = billingAdmin): SubscriptionCommand => ({
  type: 'WithdrawCancellation',
  data: { subscriptionId: SUB, requestedBy, channel: 'self_service', now },
});
const reactivate = (now: string, requestedBy = billingAdmin): SubscriptionCommand => ({
  type: 'ReactivateSubscription',
  data: { subscriptionId: SUB, requestedBy, channel: 'self_service', now },
});

describe('WithdrawCancellation (D1)', () => {
  it('D1: before expiresAt a cancellation can be withdrawn: CancellationWithdrawn, AutoRenewEnabled', () => {
    const now = at('2026-02-20T00:00');
    const events = spec.given(pending).when(withdraw(now)).thenEvents();
    expect(events.map((e) => e.type)).toEqual(['CancellationWithdrawn', 'AutoRenewEnabled']);
    expect(events[0]!.data).toMatchObject({
      expiresAtDropped: at('2026-02-28T00:00'),
      purgeAtDropped: at('2026-05-29T00:00'),
    });
  });

  it('D1: after the withdrawal the pending expiry is dropped: the term end renews instead', () => {
    const withdrawn = after(pending, withdraw(at('2026-02-20T00:00')));
    expect(fold(subscriptionDecider, withdrawn)).toMatchObject({
      status: 'active',
      autoRenew: true,
      expiresAt: null,
    });
    expect(
      spec
        .given(withdrawn)
        .when(termEnd(at('2026-02-28T00:00')))
        .thenEvents()[0]!.type,
    ).toBe('SubscriptionRenewed');
  });

  it('D1: after expiry a cancellation cannot be withdrawn (INVALID_STATE)', () => {
    spec
      .given(expired)
      .when(withdraw(at('2026-03-01T00:00')))
      .thenThrows('INVALID_STATE', /D1/);
  });

  it('D1: at expiresAt, even before the expiry job ran, it is too late', () => {
    spec
      .given(pending)
      .when(withdraw(at('2026-02-28T00:00')))
      .thenThrows('INVALID_STATE');
  });

  it('D1: withdrawing when nothing is pending changes nothing', () => {
    spec
      .given([monthly])
      .when(withdraw(at('2026-02-20T00:00')))
      .thenNothingHappens();
  });

  it('D1: only those who may cancel may withdraw (R4)', () => {
    spec
      .given(pending)
      .when(withdraw(at('2026-02-20T00:00'), plainUser))
      .thenThrows('FORBIDDEN_ROLE');
  });
});

describe('ReactivateSubscription (D2)', () => {
  it('D2: an expired subscription reactivated before its purge date starts a new term from now and drops its purge', () => {
    const now = at('2026-04-10T10:00');
    const events = spec.given(expired).when(reactivate(now)).thenEvents();
    expect(events).toEqual([
      {
        type: 'SubscriptionReactivated',
        data: expect.objectContaining({
          reactivatedAt: now,
          anchor: now,
          termIndex: 0,
          currentTerm: { start: now, end: at('2026-05-10T10:00') },
          purgeAtDropped: at('2026-05-29T00:00'),
        }),
      },
    ]);
    const state = fold(subscriptionDecider, [...expired, ...events]);
    expect(state).toMatchObject({ status: 'active', autoRenew: true });
  });

  it('D2: a reactivated subscription makes the old purge job a no-op', () => {
    const reactivated = after(expired, reactivate(at('2026-04-10T10:00')));
    spec
      .given(reactivated)
      .when({
        type: 'StartPurge',
        data: {
          subscriptionId: SUB,
          purgeId: 'p1',
          holders: ['local'],
          legalHold: false,
          now: at('2026-05-29T00:00'),
        },
      })
      .thenNothingHappens();
  });

  it('D2: at the purge date the grace period is over (INVALID_STATE)', () => {
    spec
      .given(expired)
      .when(reactivate(at('2026-05-29T00:00')))
      .thenThrows('INVALID_STATE', /grace period/);
  });

  it('D2: after the purge, reactivation is refused: the data is gone for good', () => {
    const purged = after(expired, ...purgeWithoutHolders('p1', at('2026-05-29T00:00')));
    expect(fold(subscriptionDecider, purged).status).toBe('purged');
    spec
      .given(purged)
      .when(reactivate(at('2026-06-01T00:00')))
      .thenThrows('INVALID_STATE', /gone for good/);
  });

  it('D2: only an expired subscription can be reactivated', () => {
    spec
      .given(pending)
      .when(reactivate(at('2026-02-20T00:00')))
      .thenThrows('INVALID_STATE');
  });
});
