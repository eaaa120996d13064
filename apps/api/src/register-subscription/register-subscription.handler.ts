import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DomainError, isRegistered, subscriptionDecider, subscriptionStreamId } from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { SubscriptionReader } from '../subscription-reader';
import {
  RegisterSubscriptionCommand,
  type RegisterSubscriptionResult,
} from './register-subscription.command';

@CommandHandler(RegisterSubscriptionCommand)
export class RegisterSubscriptionHandler implements ICommandHandler<RegisterSubscriptionCommand> {
  constructor(
    private readonly runner: CommandRunner,
    private readonly reader: SubscriptionReader,
  ) {}

  async execute({
    input,
    context,
  }: RegisterSubscriptionCommand): Promise<RegisterSubscriptionResult> {
    const result = await this.runner.run(
      subscriptionStreamId(input.subscriptionId),
      subscriptionDecider,
      { type: 'RegisterSubscription', data: { ...input, now: this.runner.now() } },
      context,
    );
    if (!isRegistered(result.state))
      throw new DomainError('INVALID_STATE', 'Registration wrote nothing.');
    return {
      subscription: await this.reader.view(result.state, result.revision),
      position: result.position?.toString() ?? null,
      replayed: result.replayed,
    };
  }
}
