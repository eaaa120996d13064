import { DateTime } from 'luxon';
import { subscriptionDecider } from '../../deciders';
import { fold } from '../../kernel/decider';
import { toInstant } from '../../kernel/time';
import { after, cancel, registered, termEnd } from '../../testing/subscription.fixtures';
import { previewCancellation } from '../cancellation-preview';
import type { RegisteredSubscription } from '../subscription.state';
import type { CancellationRequested } from '../subscription.events';

const at = (local: string): string => toInstant(DateTime.fromISO(local, { zone: 'Europe/Rome' }));
const stateOf = (events: Parameters<typeof fold>[1]) =>
  fold(subscriptionDecider, events as never) as RegisteredSubscription;
const codes = (items: readonly { code: string }[]) => items.map((i) => i.code);

describe('cancellation preview (R19)', () => {
  const sub = registered({
    outstandingBalance: { amount: '30.00', currency: 'EUR' },
    assignedLicences: 12,
  });

  it('R19: lists whether the channel allows it and why not, expiresAt, purge date, no refund, balance, licences, backup reminder', () => {
    const p = previewCancellation(
      stateOf([sub]),
      'billing_admin',
      'self_service',
      at('2026-02-10T00:00'),
    );
    expect(p).toMatchObject({
      allowed: false,
      refusals: [expect.objectContaining({ code: 'OUTSTANDING_BALANCE' })],
      effectiveAt: at('2026-02-28T00:00'),
      purgeAt: at('2026-05-29T00:00'),
      refund: 'none',
      noticeDeadlineMissed: false,
      outstandingBalance: { amount: '30.00', currency: 'EUR' },
      assignedLicences: 12,
    });
    expect(codes(p.checklist)).toEqual([
      'CHANNEL_REFUSED',
      'ACCESS_ENDS',
      'PURGE_DATE',
      'NO_REFUND',
      'OUTSTANDING_BALANCE',
      'LICENCES_IN_USE',
      'BACK_UP_DATA',
    ]);
  });

  it('R19: the same request through support is allowed', () => {
    const p = previewCancellation(
      stateOf([sub]),
      'billing_admin',
      'support',
      at('2026-02-10T00:00'),
    );
    expect(p.allowed).toBe(true);
    expect(p.checklist[0]!.code).toBe('CHANNEL_ALLOWED');
  });

  it('R19: lists every refusal at once (a plain user, a support-only product, a contract)', () => {
    const p = previewCancellation(
      stateOf([registered({ productId: 'rescue', contract: true })]),
      'user',
      'self_service',
      at('2026-02-10T00:00'),
    );
    expect(p.refusals.map((r) => r.rule)).toEqual(['R4', 'R8', 'R7']);
  });

  it('R19: the preview agrees with the decision (late notice on a fixed-term contract)', () => {
    const fixed = registered({
      plan: { kind: 'fixed_term', termMonths: 12 },
      contract: true,
      termStart: '2026-01-15T00:00:00+01:00',
    });
    const now = at('2026-12-20T00:00');
    const p = previewCancellation(stateOf([fixed]), 'product_admin', 'support', now);
    const decided = after(
      [fixed],
      cancel(now, {
        channel: 'support',
        requestedBy: { actorId: 'u', role: 'product_admin' },
        verification: { billingAdminEmail: 'a@b.c', paymentLast4: '1111', billingAddress: 'x' },
      }),
    );
    expect(p).toMatchObject({
      allowed: true,
      noticeDeadlineMissed: true,
      effectiveAt: (decided[1] as CancellationRequested).data.expiresAt,
    });
    expect(codes(p.checklist)).toContain('NOTICE_DEADLINE_MISSED');
  });

  it('R19: after expiry the preview says there is nothing to cancel', () => {
    const expired = after([registered({ autoRenew: false })], termEnd(at('2026-02-28T00:00')));
    const p = previewCancellation(
      stateOf(expired),
      'billing_admin',
      'support',
      at('2026-03-01T00:00'),
    );
    expect(p.allowed).toBe(false);
    expect(p.refusals.map((r) => r.code)).toContain('INVALID_STATE');
  });
});
