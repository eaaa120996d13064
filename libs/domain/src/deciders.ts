import { decideAccount } from './account/account.decide';
import type { AccountCommand } from './account/account.commands';
import type { AccountEvent } from './account/account.events';
import { evolveAccount } from './account/account.evolve';
import { type AccountState, initialAccountState } from './account/account.state';
import type { Decider } from './kernel/decider';
import { decide } from './subscription/subscription.decide';
import type { SubscriptionCommand } from './subscription/subscription.commands';
import type { SubscriptionEvent } from './subscription/subscription.events';
import { evolve } from './subscription/subscription.evolve';
import {
  initialSubscriptionState,
  type SubscriptionState,
} from './subscription/subscription.state';

export const subscriptionDecider: Decider<
  SubscriptionCommand,
  SubscriptionEvent,
  SubscriptionState
> = {
  decide,
  evolve,
  initialState: initialSubscriptionState,
};

export const accountDecider: Decider<AccountCommand, AccountEvent, AccountState> = {
  decide: decideAccount,
  evolve: evolveAccount,
  initialState: initialAccountState,
};

export const subscriptionStreamId = (subscriptionId: string): string =>
  `subscription-${subscriptionId}`;
export const accountStreamId = (accountId: string): string => `account-${accountId}`;
