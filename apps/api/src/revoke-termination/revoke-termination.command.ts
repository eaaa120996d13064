import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { RevokeTermination } from '@app/domain';
import type { SubscriptionCommandResult } from '../subscription-reader';

/** The revocation as the request states it; the handler adds the time (D5). */
export class RevokeTerminationCommand extends Command<SubscriptionCommandResult> {
  constructor(
    readonly data: Omit<RevokeTermination['data'], 'now'>,
    readonly context: CommandContext,
  ) {
    super();
  }
}
