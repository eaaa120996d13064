import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { subscriptionDecider, subscriptionStreamId } from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { type SubscriptionCommandResult, SubscriptionReader } from '../subscription-reader';
import { RevokeTerminationCommand } from './revoke-termination.command';

/** D8: a termination revoked before its effectiveAt. */
@CommandHandler(RevokeTerminationCommand)
export class RevokeTerminationHandler implements ICommandHandler<RevokeTerminationCommand> {
  constructor(
    private readonly runner: CommandRunner,
    private readonly reader: SubscriptionReader,
  ) {}

  async execute({ data, context }: RevokeTerminationCommand): Promise<SubscriptionCommandResult> {
    const result = await this.runner.run(
      subscriptionStreamId(data.subscriptionId),
      subscriptionDecider,
      { type: 'RevokeTermination', data: { ...data, now: this.runner.now() } },
      context,
    );
    return this.reader.afterCommand(data.subscriptionId, result);
  }
}
