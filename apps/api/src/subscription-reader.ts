import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  accountDecider,
  type AccountEvent,
  accountStreamId,
  DomainError,
  fold,
  type RegisteredSubscription,
  subscriptionDecider,
  type SubscriptionEvent,
  type SubscriptionState,
  subscriptionStreamId,
  isRegistered,
  recordedRefusal,
  DEFAULT_PURGE_NOTICE_DAYS,
} from '@app/domain';
import type { AppConfig } from '@app/platform';
import type { HandleResult } from '@app/command-handling';
import type { EventStore, RecordedEvent } from '@app/event-store';
import { APP_CONFIG, EVENT_STORE } from '@app/infrastructure';
import { toSubscriptionView, type SubscriptionView } from './subscription-view';

/** The Subscription after a command, with what it wrote (withdrawal, reactivation). */
export type SubscriptionCommandResult = SubscriptionView & {
  events: string[];
  /** Global position of the last event written (pass as ?minPosition= to read your write). */
  position: string | null;
};

const asDomain = <E>(events: readonly RecordedEvent[]): E[] =>
  events.map((e) => ({ type: e.type, data: e.data }) as E);

/** Reads a subscription's current state from its stream (always current, never a projection). */
@Injectable()
export class SubscriptionReader {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() @Inject(APP_CONFIG) private readonly config: AppConfig | null = null,
  ) {}

  /** D7: the purge-notice offsets the lifecycle runs with (PURGE_NOTICE_DAYS). */
  get purgeNoticeDays(): readonly number[] {
    return this.config?.purgeNoticeDays ?? DEFAULT_PURGE_NOTICE_DAYS;
  }

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
    return toSubscriptionView(
      state,
      revision,
      await this.legalHold(state.accountId),
      this.purgeNoticeDays,
    );
  }

  /**
   * A command's answer on a subscription (withdrawal, reactivation): the Subscription after it,
   * the events it wrote (for a repeated key, those the first request wrote) and its position.
   */
  async afterCommand(
    subscriptionId: string,
    result: HandleResult<SubscriptionState>,
  ): Promise<SubscriptionCommandResult> {
    // D6: a refusal by policy was written (e.g. a reactivation after a termination for fraud).
    const refusal = recordedRefusal(result.events);
    if (refusal) throw refusal;
    if (!isRegistered(result.state))
      throw new DomainError('NOT_FOUND', `Subscription ${subscriptionId} does not exist.`);
    return {
      ...(await this.view(result.state, result.revision)),
      events: result.events.map((e) => e.type),
      position: result.position?.toString() ?? null,
    };
  }
}
