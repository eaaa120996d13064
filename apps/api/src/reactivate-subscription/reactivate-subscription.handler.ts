import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DomainError, isRegistered, subscriptionDecider, subscriptionStreamId } from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { SubscriptionReader } from '../subscription-reader';
import type { SubscriptionCommandResult } from '../withdraw-cancellation/withdraw-cancellation.command';
import { ReactivateSubscriptionCommand } from './reactivate-subscription.command';

/** D2: an expired subscription inside its 90-day grace period starts a new term. */
@CommandHandler(ReactivateSubscriptionCommand)
export class ReactivateSubscriptionHandler implements ICommandHandler<ReactivateSubscriptionCommand> {
  constructor(
    private readonly runner: CommandRunner,
    private readonly reader: SubscriptionReader,
  ) {}

  async execute(c: ReactivateSubscriptionCommand): Promise<SubscriptionCommandResult> {
    const result = await this.runner.run(
      subscriptionStreamId(c.subscriptionId),
      subscriptionDecider,
      {
        type: 'ReactivateSubscription',
        data: {
          subscriptionId: c.subscriptionId,
          requestedBy: c.requestedBy,
          channel: c.channel,
          now: this.runner.now(),
        },
      },
      c.context,
    );
    if (!isRegistered(result.state))
      throw new DomainError('NOT_FOUND', `Subscription ${c.subscriptionId} does not exist.`);
    return {
      subscription: await this.reader.view(result.state, result.revision),
      events: result.events.map((e) => e.type),
      position: result.position?.toString() ?? null,
    };
  }
}
