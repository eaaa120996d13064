import type { Instant } from '../kernel/time';
import type { CancellationRequested } from './subscription.events';
import type { RegisteredSubscription } from './subscription.state';

/**
 * R16: how a subscription appears in the account's list. Expired (and purged) ones are shown
 * apart; a cancelled one not yet at its end is still listed as active, pending until expiresAt.
 */
export interface ListingEntry {
  readonly section: 'active' | 'expired';
  readonly pendingUntil: Instant | null;
}

export function listingEntry(state: RegisteredSubscription): ListingEntry {
  switch (state.status) {
    case 'trial':
    case 'active':
      return { section: 'active', pendingUntil: null };
    case 'cancellation_pending':
      return { section: 'active', pendingUntil: state.expiresAt };
    case 'expired':
    case 'purged':
      return { section: 'expired', pendingUntil: null };
  }
}

export interface CancellationConfirmation {
  readonly accountId: string;
  readonly subscriptionId: string;
  readonly subject: string;
  readonly body: string;
}

/** R16: contract customers get a confirmation when their cancellation is recorded; others don't. */
export function cancellationConfirmation(
  state: Pick<RegisteredSubscription, 'contract' | 'productId'>,
  event: CancellationRequested,
): CancellationConfirmation | null {
  if (!state.contract) return null;
  const d = event.data;
  const notice = d.noticeDeadlineMissed
    ? ` The 30-day notice deadline (${d.noticeDeadline}) had passed, so the contract runs one more term.`
    : '';
  return {
    accountId: d.accountId,
    subscriptionId: d.subscriptionId,
    subject: `Cancellation of ${state.productId} recorded`,
    body:
      `Your cancellation was recorded at ${d.requestedAt}. Access continues until ${d.expiresAt}; ` +
      `all product data is deleted for good at ${d.purgeAt}. No refund is made for the rest of the term.${notice}`,
  };
}
