import { termAt } from '../../calendar/term-calendar';
import { DomainError, invalidState } from '../../kernel/domain-error';
import { isBefore, parseInstant, toInstant } from '../../kernel/time';
import { rolesThatMayCancel } from '../cancellation-policy';
import type { ReactivateSubscription } from '../subscription.commands';
import type { ReactivationRefused, SubscriptionReactivated } from '../subscription.events';
import type { SubscriptionState } from '../subscription.state';
import { requireRegistered } from './require-registered';

/**
 * D2: the 90 days after expiry are a grace period. Reactivated before its purge date, a
 * subscription starts a new term from now (the new anchor) with its data intact and its purge
 * dropped. Once a purge has started or finished there is nothing to come back to (R15). After a
 * termination for fraud the refusal is recorded (D8, D6).
 */
export function reactivateSubscription(
  command: ReactivateSubscription,
  state: SubscriptionState,
): [SubscriptionReactivated] | [ReactivationRefused] {
  const c = command.data;
  const s = requireRegistered(state, c.subscriptionId);
  const now = toInstant(parseInstant(c.now, 'now'));
  const mayReactivate = rolesThatMayCancel(s.contract);
  if (
    c.channel !== 'operator' &&
    c.channel !== 'system' &&
    !mayReactivate.includes(c.requestedBy.role)
  )
    throw new DomainError(
      'FORBIDDEN_ROLE',
      `Only ${mayReactivate.join(', ')} may reactivate this subscription; the request came from a ${c.requestedBy.role}.`,
    );
  if (s.status === 'purged')
    throw invalidState(
      `Subscription ${s.subscriptionId} was purged at ${s.purgedAt}: its data is gone for good (R15); register a new subscription.`,
      { status: s.status, purgedAt: s.purgedAt },
    );
  if (s.status !== 'expired')
    throw invalidState(
      `Only an expired subscription can be reactivated; this one is ${s.status}.`,
      {
        status: s.status,
      },
    );
  // D8: a subscription terminated for fraud does not come back; the refusal is recorded (D6).
  if (s.termination?.reason === 'fraud')
    return [
      {
        type: 'ReactivationRefused',
        data: {
          subscriptionId: s.subscriptionId,
          accountId: s.accountId,
          code: 'INVALID_STATE',
          rule: 'D8',
          message: `Subscription ${s.subscriptionId} was terminated for fraud; it cannot be reactivated.`,
          requestedBy: c.requestedBy,
          channel: c.channel,
          refusedAt: now,
        },
      },
    ];
  if (s.plan.kind === 'trial')
    throw invalidState(
      'An expired trial is not reactivated: register a paid subscription instead.',
      {
        plan: s.plan.kind,
      },
    );
  if (s.purge !== null || !isBefore(now, s.purgeAt))
    throw invalidState(`The grace period ended at ${s.purgeAt}; the data is being purged (R15).`, {
      purgeAt: s.purgeAt,
    });
  return [
    {
      type: 'SubscriptionReactivated',
      data: {
        subscriptionId: s.subscriptionId,
        accountId: s.accountId,
        requestedBy: c.requestedBy,
        channel: c.channel,
        reactivatedAt: now,
        anchor: now,
        termIndex: 0,
        currentTerm: termAt(now, s.timeZone, s.plan, 0),
        purgeAtDropped: s.purgeAt,
      },
    },
  ];
}
