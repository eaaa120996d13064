import { invalidState, validationFailed } from '../../kernel/domain-error';
import { isBefore, parseInstant, toInstant } from '../../kernel/time';
import { cancellationRefusals, cancellationTerms } from '../cancellation-policy';
import type { RequestCancellation } from '../subscription.commands';
import {
  type AutoRenewDisabled,
  CANCELLATION_POLICY_VERSION,
  type CancellationRefused,
  type CancellationRequested,
} from '../subscription.events';
import { pendingTermination, type SubscriptionState } from '../subscription.state';
import { requireRegistered } from './require-registered';

export type RequestCancellationResult =
  [CancellationRequested, AutoRenewDisabled] | [CancellationRequested] | [CancellationRefused] | [];

/**
 * R1–R13, D6. A refusal by policy is returned as one `CancellationRefused` event (recorded, then
 * answered with its code); a request the state cannot take (expired, purged) or a malformed one
 * throws and writes nothing.
 */
export function requestCancellation(
  command: RequestCancellation,
  state: SubscriptionState,
): RequestCancellationResult {
  const c = command.data;
  const s = requireRegistered(state, c.subscriptionId);
  const now = toInstant(parseInstant(c.now, 'now'));

  if (s.status === 'expired' || s.status === 'purged')
    throw invalidState(
      `Subscription ${s.subscriptionId} has already ${s.status}; there is nothing to cancel.`,
      {
        status: s.status,
      },
    );
  const termination = pendingTermination(s);
  if (termination)
    throw invalidState(
      `Subscription ${s.subscriptionId} is being terminated (${termination.reason}) at ${termination.effectiveAt}; there is nothing to cancel.`,
      { reason: termination.reason, effectiveAt: termination.effectiveAt },
    );
  if (c.channel === 'support' && !c.verification)
    throw validationFailed('A support cancellation must carry what the agent verified (R10).', {
      field: 'verification',
    });

  const [refusal] = cancellationRefusals(s, c.requestedBy.role, c.channel);
  if (refusal) {
    return [
      {
        type: 'CancellationRefused',
        data: {
          subscriptionId: s.subscriptionId,
          accountId: s.accountId,
          code: refusal.code,
          rule: refusal.rule,
          message: refusal.message,
          requestedBy: c.requestedBy,
          channel: c.channel,
          refusedAt: now,
          policyVersion: CANCELLATION_POLICY_VERSION,
        },
      },
    ];
  }
  // R13: a second request while pending changes nothing.
  if (s.status === 'cancellation_pending') return [];
  if (s.status !== 'active')
    throw invalidState(`Cannot cancel a subscription in status ${s.status}.`);
  if (!isBefore(now, s.currentTerm.end))
    // The term-end job has not run yet, but the term is over: it is not "mid-term" any more (R13).
    throw invalidState(
      'The current term has already ended; the subscription is being renewed or expired.',
      {
        termEnd: s.currentTerm.end,
      },
    );

  const terms = cancellationTerms(s, now);
  const requested: CancellationRequested = {
    type: 'CancellationRequested',
    data: {
      subscriptionId: s.subscriptionId,
      accountId: s.accountId,
      productId: s.productId,
      requestedBy: c.requestedBy,
      channel: c.channel,
      requestedAt: now,
      effectiveAt: terms.expiresAt,
      expiresAt: terms.expiresAt,
      purgeAt: terms.purgeAt,
      renewalDate: terms.renewalDate,
      noticeDeadline: terms.noticeDeadline,
      noticeDeadlineMissed: terms.noticeDeadlineMissed,
      refund: 'none',
      policyVersion: CANCELLATION_POLICY_VERSION,
      verifiedProducts: c.channel === 'support' ? [s.productId] : null,
      verification: c.verification ?? null,
      survey: c.survey ?? null,
    },
  };
  // Auto-renew may already be off (registered so): then there is nothing to disable.
  if (!s.autoRenew) return [requested];
  return [
    requested,
    {
      type: 'AutoRenewDisabled',
      data: {
        subscriptionId: s.subscriptionId,
        accountId: s.accountId,
        disabledAt: now,
        reason: 'cancellation_requested',
      },
    },
  ];
}
