import type { ListedSubscription } from '@app/read-models';
import { type SubscriptionView, toSubscriptionView } from '../subscription-view';

/** A Subscription (docs/http-api.md) as listed for its account: R16's section beside the status. */
export type ListedSubscriptionView = SubscriptionView & { section: 'active' | 'expired' };

export const toListedView = (
  s: ListedSubscription,
  /** D7: the configured purge-notice offsets (PURGE_NOTICE_DAYS); default 30 and 7. */
  purgeNoticeDays?: readonly number[],
): ListedSubscriptionView => ({
  ...toSubscriptionView(s.state, s.revision, s.legalHold, purgeNoticeDays),
  section: s.section,
});
