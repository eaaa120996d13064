import { type CustomerChannel, isPositiveAmount, type Role } from '../kernel/actor';
import type { DomainErrorCode } from '../kernel/domain-error';
import { parseInstant, toInstant, type Instant } from '../kernel/time';
import { cancellationRefusals, cancellationTerms } from './cancellation-policy';
import { pendingTermination, type RegisteredSubscription } from './subscription.state';

export interface PreviewItem {
  readonly code: string;
  readonly message: string;
}

export interface CancellationPreview {
  readonly allowed: boolean;
  readonly refusals: readonly { code: DomainErrorCode; rule: string; message: string }[];
  readonly effectiveAt: Instant | null;
  readonly purgeAt: Instant | null;
  readonly refund: 'none';
  readonly noticeDeadline: Instant | null;
  readonly noticeDeadlineMissed: boolean;
  readonly outstandingBalance: RegisteredSubscription['outstandingBalance'];
  readonly assignedLicences: number;
  readonly checklist: readonly PreviewItem[];
}

/**
 * R19: what a cancellation asked now, by this role, on this channel, would do, without doing it.
 * A pure query over the state: the same policy and calendar functions as `decide`, so the preview
 * and the decision cannot disagree.
 */
export function previewCancellation(
  state: RegisteredSubscription,
  role: Role,
  channel: CustomerChannel,
  nowIso: Instant,
): CancellationPreview {
  const now = toInstant(parseInstant(nowIso, 'now'));
  const refusals: CancellationPreview['refusals'][number][] = cancellationRefusals(
    state,
    role,
    channel,
  );
  let effectiveAt: Instant | null = null;
  let purgeAt: Instant | null = null;
  let noticeDeadline: Instant | null = null;
  let noticeDeadlineMissed = false;

  switch (state.status) {
    case 'active': {
      const t = cancellationTerms(state, now);
      ({ expiresAt: effectiveAt, purgeAt, noticeDeadline, noticeDeadlineMissed } = t);
      break;
    }
    case 'cancellation_pending':
      effectiveAt = state.expiresAt;
      purgeAt = state.purgeAt;
      noticeDeadline = state.cancellation.noticeDeadline;
      noticeDeadlineMissed = state.cancellation.noticeDeadlineMissed;
      break;
    case 'trial':
      effectiveAt = state.expiresAt;
      break;
    case 'expired':
    case 'purged':
      effectiveAt = state.expiresAt;
      purgeAt = state.purgeAt;
      refusals.push({
        code: 'INVALID_STATE',
        rule: 'R13',
        message: `The subscription has already ${state.status}.`,
      });
      break;
  }
  // D8: a subscription being terminated ends then, whatever a cancellation would say.
  const termination = pendingTermination(state);
  if (termination) {
    effectiveAt = termination.effectiveAt;
    purgeAt = termination.purgeAt;
    noticeDeadlineMissed = false;
    refusals.push({
      code: 'INVALID_STATE',
      rule: 'D8',
      message: `The subscription is being terminated (${termination.reason}) at ${termination.effectiveAt}: there is nothing to cancel.`,
    });
  }

  const checklist: PreviewItem[] = [];
  checklist.push(
    refusals.length === 0
      ? {
          code: 'CHANNEL_ALLOWED',
          message: `Cancellation is allowed through ${channel} for a ${role}.`,
        }
      : { code: 'CHANNEL_REFUSED', message: refusals.map((r) => r.message).join(' ') },
  );
  if (state.status === 'cancellation_pending')
    checklist.push({
      code: 'ALREADY_PENDING',
      message: 'A cancellation is already pending; asking again changes nothing.',
    });
  if (effectiveAt)
    checklist.push({
      code: 'ACCESS_ENDS',
      message: `Access to the product ends at ${effectiveAt}.`,
    });
  if (noticeDeadlineMissed)
    checklist.push({
      code: 'NOTICE_DEADLINE_MISSED',
      message: `The 30-day notice deadline (${noticeDeadline}) has passed: the contract renews once more and ends at ${effectiveAt}.`,
    });
  if (purgeAt)
    checklist.push({
      code: 'PURGE_DATE',
      message: `All product data is deleted for good at ${purgeAt} (90 days after access ends).`,
    });
  checklist.push({
    code: 'NO_REFUND',
    message: 'Cancelling early refunds nothing: the rest of the term is still charged.',
  });
  if (isPositiveAmount(state.outstandingBalance))
    checklist.push({
      code: 'OUTSTANDING_BALANCE',
      message: `Outstanding balance: ${state.outstandingBalance!.amount} ${state.outstandingBalance!.currency}.`,
    });
  if (state.assignedLicences > 0)
    checklist.push({
      code: 'LICENCES_IN_USE',
      message: `${state.assignedLicences} assigned licence(s) are still in use and will lose access.`,
    });
  if (purgeAt)
    checklist.push({
      code: 'BACK_UP_DATA',
      message: `Back up any data you need before ${purgeAt}.`,
    });

  return {
    allowed: refusals.length === 0,
    refusals,
    effectiveAt,
    purgeAt,
    refund: 'none',
    noticeDeadline,
    noticeDeadlineMissed,
    outstandingBalance: state.outstandingBalance,
    assignedLicences: state.assignedLicences,
    checklist,
  };
}
