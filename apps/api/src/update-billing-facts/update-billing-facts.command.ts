import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { UpdateBillingFacts } from '@app/domain';
import type { SubscriptionCommandResult } from '../subscription-reader';

/** D9 as the request states it; the handler adds the time (D5). */
export class UpdateBillingFactsCommand extends Command<SubscriptionCommandResult> {
  constructor(
    readonly data: Omit<UpdateBillingFacts['data'], 'now'>,
    readonly context: CommandContext,
  ) {
    super();
  }
}
