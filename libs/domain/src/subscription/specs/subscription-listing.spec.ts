import { DateTime } from 'luxon';
import { subscriptionDecider } from '../../deciders';
import { fold } from '../../kernel/decider';
import { toInstant } from '../../kernel/time';
import {
  after,
  cancel,
  registered,
  termEnd,
  verification,
} from '../../testing/subscription.fixtures';
import { cancellationConfirmation, listingEntry } from '../subscription-listing';
import type { CancellationRequested, SubscriptionEvent } from '../subscription.events';
import type { RegisteredSubscription } from '../subscription.state';

const at = (local: string): string => toInstant(DateTime.fromISO(local, { zone: 'Europe/Rome' }));
const stateOf = (events: SubscriptionEvent[]) =>
  fold(subscriptionDecider, events) as RegisteredSubscription;

describe('listing and confirmation (R16)', () => {
  const sub = registered();
  const pending = after([sub], cancel(at('2026-02-10T00:00')));

  it('R16: a cancelled subscription not yet at its end is listed as active, pending until expiresAt', () => {
    expect(listingEntry(stateOf([sub]))).toEqual({ section: 'active', pendingUntil: null });
    expect(listingEntry(stateOf(pending))).toEqual({
      section: 'active',
      pendingUntil: at('2026-02-28T00:00'),
    });
  });

  it('R16: expired subscriptions are listed separately', () => {
    expect(listingEntry(stateOf(after(pending, termEnd(at('2026-02-28T00:00')))))).toEqual({
      section: 'expired',
      pendingUntil: null,
    });
  });

  it('R16: contract customers get a confirmation when the cancellation is recorded; others do not', () => {
    const contract = registered({ contract: true });
    const [requested] = after(
      [contract],
      cancel(at('2026-02-10T00:00'), { channel: 'support', verification }),
    ).slice(1) as [CancellationRequested];
    const confirmation = cancellationConfirmation(stateOf([contract]), requested);
    expect(confirmation).toMatchObject({ accountId: 'acc_1', subscriptionId: 'sub_1' });
    expect(confirmation!.body).toContain(at('2026-02-28T00:00'));
    expect(confirmation!.body).toMatch(/No refund/);
    expect(
      cancellationConfirmation(stateOf([sub]), pending[1] as CancellationRequested),
    ).toBeNull();
  });
});
