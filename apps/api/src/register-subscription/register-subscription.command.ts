import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { RegisterSubscription } from '@app/domain';
import type { SubscriptionView } from '../subscription-view';

/** The registration as the request states it; the handler adds the time (D5). */
export type RegisterSubscriptionInput = Omit<RegisterSubscription['data'], 'now'>;

/** The 201 body: the Subscription (docs/http-api.md), plus the position written under `position`. */
export type RegisterSubscriptionResult = SubscriptionView & { position: string | null };

export class RegisterSubscriptionCommand extends Command<RegisterSubscriptionResult> {
  constructor(
    readonly data: RegisterSubscriptionInput,
    readonly context: CommandContext,
  ) {
    super();
  }
}
