import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { SubscriptionCommands, type SubscriptionCommandResult } from '../subscription-commands';
import { WithdrawCancellationCommand } from './withdraw-cancellation.command';

/** D1: withdraw a pending cancellation before expiresAt. */
@CommandHandler(WithdrawCancellationCommand)
export class WithdrawCancellationHandler implements ICommandHandler<WithdrawCancellationCommand> {
  constructor(private readonly commands: SubscriptionCommands) {}

  execute(c: WithdrawCancellationCommand): Promise<SubscriptionCommandResult> {
    const data = {
      subscriptionId: c.subscriptionId,
      requestedBy: c.requestedBy,
      channel: c.channel,
      now: this.commands.now(),
    };
    return this.commands.run({ type: 'WithdrawCancellation', data }, c.context);
  }
}
