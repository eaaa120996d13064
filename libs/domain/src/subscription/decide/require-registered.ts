import { DomainError } from '../../kernel/domain-error';
import {
  isRegistered,
  type RegisteredSubscription,
  type SubscriptionState,
} from '../subscription.state';

export function requireRegistered(
  state: SubscriptionState,
  subscriptionId: string,
): RegisteredSubscription {
  if (!isRegistered(state))
    throw new DomainError('NOT_FOUND', `Subscription ${subscriptionId} does not exist.`);
  return state;
}
