import { DomainError, invalidState } from '../../kernel/domain-error';
import { isBefore, parseInstant, toInstant } from '../../kernel/time';
import { rolesThatMayCancel } from '../cancellation-policy';
import type { WithdrawCancellation } from '../subscription.commands';
import type { AutoRenewEnabled, CancellationWithdrawn } from '../subscription.events';
import type { SubscriptionState } from '../subscription.state';
import { requireRegistered } from './require-registered';

/**
 * D1: before expiresAt a pending cancellation can be withdrawn; auto-renew comes back on and the
 * pending expiry and purge are dropped. After expiry it cannot. Withdrawing when nothing is
 * pending changes nothing (idempotent, like R13). Only those who may cancel may withdraw (R4).
 */
export function withdrawCancellation(
  command: WithdrawCancellation,
  state: SubscriptionState,
): [CancellationWithdrawn, AutoRenewEnabled] | [] {
  const c = command.data;
  const s = requireRegistered(state, c.subscriptionId);
  const now = toInstant(parseInstant(c.now, 'now'));
  const mayWithdraw = rolesThatMayCancel(s.contract);
  if (
    c.channel !== 'system' &&
    c.channel !== 'operator' &&
    !mayWithdraw.includes(c.requestedBy.role)
  )
    throw new DomainError(
      'FORBIDDEN_ROLE',
      `Only ${mayWithdraw.join(', ')} may withdraw this cancellation; the request came from a ${c.requestedBy.role}.`,
    );
  switch (s.status) {
    case 'active':
      return [];
    case 'trial':
      throw invalidState(
        'A trial has no cancellation to withdraw: it simply expires at its end (R11).',
      );
    case 'expired':
    case 'purged':
      throw invalidState(
        `Subscription ${s.subscriptionId} has already ${s.status}; a cancellation can only be withdrawn before ${s.expiresAt} (D1).`,
        { status: s.status, expiresAt: s.expiresAt },
      );
    case 'cancellation_pending':
      if (!isBefore(now, s.expiresAt))
        throw invalidState(
          `The cancellation took effect at ${s.expiresAt}; it can no longer be withdrawn (D1).`,
          {
            expiresAt: s.expiresAt,
          },
        );
      return [
        {
          type: 'CancellationWithdrawn',
          data: {
            subscriptionId: s.subscriptionId,
            accountId: s.accountId,
            requestedBy: c.requestedBy,
            channel: c.channel,
            withdrawnAt: now,
            expiresAtDropped: s.expiresAt,
            purgeAtDropped: s.purgeAt,
          },
        },
        {
          type: 'AutoRenewEnabled',
          data: {
            subscriptionId: s.subscriptionId,
            accountId: s.accountId,
            enabledAt: now,
            reason: 'cancellation_withdrawn',
          },
        },
      ];
  }
}
