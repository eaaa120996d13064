import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { SubscriptionCommands, type SubscriptionCommandResult } from '../subscription-commands';
import { ReactivateSubscriptionCommand } from './reactivate-subscription.command';

/** D2: an expired subscription inside its 90-day grace period starts a new term. */
@CommandHandler(ReactivateSubscriptionCommand)
export class ReactivateSubscriptionHandler implements ICommandHandler<ReactivateSubscriptionCommand> {
  constructor(private readonly commands: SubscriptionCommands) {}

  execute(c: ReactivateSubscriptionCommand): Promise<SubscriptionCommandResult> {
    const data = {
      subscriptionId: c.subscriptionId,
      requestedBy: c.requestedBy,
      channel: c.channel,
      now: this.commands.now(),
    };
    return this.commands.run({ type: 'ReactivateSubscription', data }, c.context);
  }
}
