import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { subscriptionDecider, subscriptionStreamId } from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { type SubscriptionCommandResult, SubscriptionReader } from '../subscription-reader';
import { WithdrawCancellationCommand } from './withdraw-cancellation.command';

/** D1: withdraw a pending cancellation before expiresAt. */
@CommandHandler(WithdrawCancellationCommand)
export class WithdrawCancellationHandler implements ICommandHandler<WithdrawCancellationCommand> {
  constructor(
    private readonly runner: CommandRunner,
    private readonly reader: SubscriptionReader,
  ) {}

  async execute({
    data,
    context,
  }: WithdrawCancellationCommand): Promise<SubscriptionCommandResult> {
    const result = await this.runner.run(
      subscriptionStreamId(data.subscriptionId),
      subscriptionDecider,
      { type: 'WithdrawCancellation', data: { ...data, now: this.runner.now() } },
      context,
    );
    return this.reader.afterCommand(data.subscriptionId, result);
  }
}
