import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { subscriptionDecider, subscriptionStreamId } from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { type SubscriptionCommandResult, SubscriptionReader } from '../subscription-reader';
import { ReactivateSubscriptionCommand } from './reactivate-subscription.command';

/** D2: an expired subscription inside its 90-day grace period starts a new term. */
@CommandHandler(ReactivateSubscriptionCommand)
export class ReactivateSubscriptionHandler implements ICommandHandler<ReactivateSubscriptionCommand> {
  constructor(
    private readonly runner: CommandRunner,
    private readonly reader: SubscriptionReader,
  ) {}

  async execute({
    data,
    context,
  }: ReactivateSubscriptionCommand): Promise<SubscriptionCommandResult> {
    const result = await this.runner.run(
      subscriptionStreamId(data.subscriptionId),
      subscriptionDecider,
      { type: 'ReactivateSubscription', data: { ...data, now: this.runner.now() } },
      context,
    );
    return this.reader.afterCommand(data.subscriptionId, result);
  }
}
