import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { ReactivateSubscription } from '@app/domain';
import type { SubscriptionCommandResult } from '../subscription-reader';

/** The request as the domain command takes it; the handler adds the time (D5). */
export class ReactivateSubscriptionCommand extends Command<SubscriptionCommandResult> {
  constructor(
    readonly data: Omit<ReactivateSubscription['data'], 'now'>,
    readonly context: CommandContext,
  ) {
    super();
  }
}
