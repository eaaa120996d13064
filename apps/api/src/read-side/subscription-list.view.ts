import type { ListedSubscription } from '@app/read-models';
import { type SubscriptionView, toSubscriptionView } from '../subscription-view';

/** A Subscription (API.md) as listed for its account: R16's section beside the status. */
export type ListedSubscriptionView = SubscriptionView & { section: 'active' | 'expired' };

export const toListedView = (s: ListedSubscription): ListedSubscriptionView => ({
  ...toSubscriptionView(s.state, s.revision, s.legalHold),
  section: s.section,
});
