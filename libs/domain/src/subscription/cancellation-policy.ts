import { findProduct } from '../catalogue/product-catalogue';
import { noticeDeadlineFor, purgeDateFor, termAt } from '../calendar/term-calendar';
import { type CustomerChannel, isPositiveAmount, type Role } from '../kernel/actor';
import type { RefusalCode } from '../kernel/domain-error';
import { type Instant, isBefore } from '../kernel/time';
import type { NoticeDecision } from './subscription.events';
import type { RegisteredSubscription } from './subscription.state';

/**
 * The cancellation policy (R4–R11) as a pure function of the subscription, the asker and the
 * channel. Used by `decide` (first refusal wins and is recorded, D6) and by the preview (R19:
 * every refusal is listed).
 */
export interface PolicyRefusal {
  readonly code: RefusalCode;
  readonly rule: string;
  readonly message: string;
}

const ALWAYS_MAY_CANCEL: readonly Role[] = ['billing_admin'];
const MAY_CANCEL_FOR_CONTRACT: readonly Role[] = [
  'billing_admin',
  'product_admin',
  'authorized_billing_contact',
];

/** Roles that may cancel this subscription at all (R4). */
export function rolesThatMayCancel(contract: boolean): readonly Role[] {
  return contract ? MAY_CANCEL_FOR_CONTRACT : ALWAYS_MAY_CANCEL;
}

export function cancellationRefusals(
  state: RegisteredSubscription,
  role: Role,
  channel: CustomerChannel,
): PolicyRefusal[] {
  const refusals: PolicyRefusal[] = [];
  if (state.plan.kind === 'trial') {
    refusals.push({
      code: 'TRIAL_NEEDS_NO_CANCELLATION',
      rule: 'R11',
      message: `A trial needs no cancellation: it simply expires at its end (${state.currentTerm.end}).`,
    });
  }
  const mayCancel = rolesThatMayCancel(state.contract);
  if (!mayCancel.includes(role)) {
    refusals.push({
      code: 'FORBIDDEN_ROLE',
      rule: 'R4',
      message: `Only ${mayCancel.join(', ')} may cancel this subscription; the request came from a ${role}.`,
    });
  }
  if (channel === 'self_service') {
    if (state.contract) {
      refusals.push({
        code: 'CONTACT_SUPPORT',
        rule: 'R8',
        message: 'Contract accounts cancel through support: please contact support.',
      });
    }
    const product = findProduct(state.productId);
    if (!product?.selfServiceCancellation) {
      refusals.push({
        code: 'CONTACT_SUPPORT',
        rule: 'R7',
        message: `${product?.name ?? state.productId} cannot be cancelled online: please contact support.`,
      });
    }
    if (role !== 'billing_admin' && mayCancel.includes(role)) {
      refusals.push({
        code: 'FORBIDDEN_ROLE',
        rule: 'R5',
        message: 'Cancelling in the admin console needs billing admin rights.',
      });
    }
    // R6 on billing's latest balance (D9: BillingFactsUpdated), not the one given at registration.
    if (isPositiveAmount(state.outstandingBalance)) {
      const b = state.outstandingBalance!;
      refusals.push({
        code: 'OUTSTANDING_BALANCE',
        rule: 'R6',
        message: `The account has an outstanding balance of ${b.amount} ${b.currency}: settle it or contact support to cancel.`,
      });
    }
  }
  return refusals;
}

export interface CancellationTerms extends NoticeDecision {
  readonly expiresAt: Instant;
  readonly purgeAt: Instant;
}

/**
 * When a cancellation requested at `now` would take effect (R2, R9). Access lasts to the end of
 * the current term; a fixed-term contract cancelled with less than 30 days' notice renews once
 * more and ends at the end of the next term.
 */
export function cancellationTerms(state: RegisteredSubscription, now: Instant): CancellationTerms {
  const renewalDate = state.currentTerm.end;
  let expiresAt = renewalDate;
  let noticeDeadline: Instant | null = null;
  let noticeDeadlineMissed = false;
  if (state.plan.kind === 'fixed_term' && state.autoRenew) {
    noticeDeadline = noticeDeadlineFor(renewalDate, state.timeZone);
    // "At least 30 days before": cancelling at the deadline itself is still in time.
    if (isBefore(noticeDeadline, now)) {
      noticeDeadlineMissed = true;
      expiresAt = termAt(state.anchor, state.timeZone, state.plan, state.termIndex + 1).end;
    }
  }
  return {
    renewalDate,
    noticeDeadline,
    noticeDeadlineMissed,
    expiresAt,
    purgeAt: purgeDateFor(expiresAt, state.timeZone),
  };
}
