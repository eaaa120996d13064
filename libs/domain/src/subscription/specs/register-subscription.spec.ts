import { DateTime } from 'luxon';
import { subscriptionDecider } from '../../deciders';
import { toInstant } from '../../kernel/time';
import { deciderSpecification } from '../../testing/decider-specification';
import { registered } from '../../testing/subscription.fixtures';
import type { SubscriptionCommand, RegisterSubscription } from '../subscription.commands';

const spec = deciderSpecification(subscriptionDecider);
const at = (local: string): string => toInstant(DateTime.fromISO(local, { zone: 'Europe/Rome' }));

const register = (o: Partial<RegisterSubscription['data']> = {}): SubscriptionCommand => ({
  type: 'RegisterSubscription',
  data: {
    subscriptionId: 'sub_1',
    accountId: 'acc_1',
    productId: 'goto-meeting',
    plan: { kind: 'monthly' },
    termStart: '2026-01-31T00:00:00+01:00',
    timeZone: 'Europe/Rome',
    contract: false,
    autoRenew: true,
    now: '2026-01-31T00:00:00+01:00',
    ...o,
  },
});

describe('RegisterSubscription', () => {
  it('D4: registers the first term from the anchor in the account time zone', () => {
    const [e] = spec.given([]).when(register()).thenEvents();
    expect(e).toMatchObject({
      type: 'SubscriptionRegistered',
      data: {
        anchor: at('2026-01-31T00:00'),
        termIndex: 0,
        currentTerm: { start: at('2026-01-31T00:00'), end: at('2026-02-28T00:00') },
        autoRenew: true,
      },
    });
    expect(spec.given([]).when(register()).thenState()).toMatchObject({
      status: 'active',
      expiresAt: null,
    });
  });

  it('D4: a subscription bought elsewhere with an anchor in the past lands in the current anchored term', () => {
    const [e] = spec
      .given([])
      .when(register({ termStart: '2025-01-31T00:00:00+01:00', now: at('2026-03-15T12:00') }))
      .thenEvents();
    expect(e!.data).toMatchObject({
      termIndex: 13,
      currentTerm: { start: at('2026-02-28T00:00'), end: at('2026-03-31T00:00') },
    });
  });

  it('R11: a trial registers in status trial, without auto-renew, expiring after trialDays', () => {
    const state = spec
      .given([])
      .when(register({ plan: { kind: 'trial', trialDays: 14 } }))
      .thenState();
    expect(state).toMatchObject({
      status: 'trial',
      autoRenew: false,
      expiresAt: at('2026-02-14T00:00'),
    });
  });

  it('rejects an unknown product, a bad time zone, a bad plan and a bad instant, writing nothing', () => {
    spec
      .given([])
      .when(register({ productId: 'goto-teleport' }))
      .thenThrows('VALIDATION_FAILED', /productId/);
    spec
      .given([])
      .when(register({ timeZone: 'Mars/Olympus_Mons' }))
      .thenThrows('VALIDATION_FAILED', /time zone/);
    spec
      .given([])
      .when(register({ plan: { kind: 'fixed_term', termMonths: 0 } }))
      .thenThrows('VALIDATION_FAILED', /termMonths/);
    spec
      .given([])
      .when(register({ plan: { kind: 'trial', trialDays: 1.5 } }))
      .thenThrows('VALIDATION_FAILED', /trialDays/);
    spec
      .given([])
      .when(register({ plan: { kind: 'weekly' } as never }))
      .thenThrows('VALIDATION_FAILED', /plan kind/);
    expect(() =>
      spec
        .given([])
        .when(register({ termStart: 'yesterday' }))
        .thenEvents(),
    ).toThrow(/termStart/);
  });

  it('refuses to register the same subscription twice (INVALID_STATE)', () => {
    spec
      .given([registered()])
      .when(register())
      .thenThrows('INVALID_STATE', /already registered/);
  });
});
