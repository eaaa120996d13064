import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { subscriptionDecider, subscriptionStreamId } from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { type SubscriptionCommandResult, SubscriptionReader } from '../subscription-reader';
import { UpdateBillingFactsCommand } from './update-billing-facts.command';

/**
 * D9: billing's latest facts replace the earlier ones (R6 and R19 decide on them). The same values
 * again answer the Subscription with no events.
 */
@CommandHandler(UpdateBillingFactsCommand)
export class UpdateBillingFactsHandler implements ICommandHandler<UpdateBillingFactsCommand> {
  constructor(
    private readonly runner: CommandRunner,
    private readonly reader: SubscriptionReader,
  ) {}

  async execute({ data, context }: UpdateBillingFactsCommand): Promise<SubscriptionCommandResult> {
    const result = await this.runner.run(
      subscriptionStreamId(data.subscriptionId),
      subscriptionDecider,
      { type: 'UpdateBillingFacts', data: { ...data, now: this.runner.now() } },
      context,
    );
    return this.reader.afterCommand(data.subscriptionId, result);
  }
}
