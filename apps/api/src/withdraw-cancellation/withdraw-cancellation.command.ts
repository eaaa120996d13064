import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { Actor, CustomerChannel } from '@app/domain';
import type { SubscriptionView } from '../subscription-view';

export interface SubscriptionCommandResult {
  subscription: SubscriptionView;
  events: string[];
  position: string | null;
}

export class WithdrawCancellationCommand extends Command<SubscriptionCommandResult> {
  constructor(
    readonly subscriptionId: string,
    readonly requestedBy: Actor,
    readonly channel: CustomerChannel,
    readonly context: CommandContext,
  ) {
    super();
  }
}
