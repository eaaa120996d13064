import { Inject, Injectable } from '@nestjs/common';
import {
  accountDecider,
  type AccountEvent,
  accountStreamId,
  DomainError,
  fold,
  type RegisteredSubscription,
  subscriptionDecider,
  type SubscriptionEvent,
  subscriptionStreamId,
  isRegistered,
} from '@app/domain';
import type { EventStore, RecordedEvent } from '@app/event-store';
import { EVENT_STORE } from '@app/infrastructure';
import { toSubscriptionView, type SubscriptionView } from './subscription-view';

const asDomain = <E>(events: readonly RecordedEvent[]): E[] =>
  events.map((e) => ({ type: e.type, data: e.data }) as E);

/** Reads a subscription's current state from its stream (always current, never a projection). */
@Injectable()
export class SubscriptionReader {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async legalHold(accountId: string): Promise<boolean> {
    const events = await this.store.readStream(accountStreamId(accountId));
    return fold(accountDecider, asDomain<AccountEvent>(events)).legalHold !== null;
  }

  async load(subscriptionId: string): Promise<{ state: RegisteredSubscription; revision: number }> {
    const events = await this.store.readStream(subscriptionStreamId(subscriptionId));
    const state = fold(subscriptionDecider, asDomain<SubscriptionEvent>(events));
    if (!isRegistered(state))
      throw new DomainError('NOT_FOUND', `Subscription ${subscriptionId} does not exist.`);
    return { state, revision: events.length - 1 };
  }

  async view(state: RegisteredSubscription, revision: number): Promise<SubscriptionView> {
    return toSubscriptionView(state, revision, await this.legalHold(state.accountId));
  }
}
