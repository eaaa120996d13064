import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DomainError, isRegistered, subscriptionDecider, subscriptionStreamId } from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { HolderRegistry, LocalProductDataStore } from '@app/purge';
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
    private readonly productData: LocalProductDataStore,
    private readonly holders: HolderRegistry,
  ) {}

  async execute({
    data,
    context,
  }: RegisterSubscriptionCommand): Promise<RegisterSubscriptionResult> {
    const result = await this.runner.run(
      subscriptionStreamId(data.subscriptionId),
      subscriptionDecider,
      { type: 'RegisterSubscription', data: { ...data, now: this.runner.now() } },
      context,
    );
    if (!isRegistered(result.state))
      throw new DomainError('INVALID_STATE', 'Registration wrote nothing.');
    // Embedded mode: give the new subscription sample product data, so that its purge has real
    // bytes to delete (idempotent: a retried registration finds the data there). Never once it
    // expired: a registration replayed after the purge must not bring data back.
    const live = ['trial', 'active', 'cancellation_pending'].includes(result.state.status);
    if (live && this.holders.holder(data.productId, this.productData.name))
      this.productData.seed(data.subscriptionId, data.accountId, data.productId);
    return {
      ...(await this.reader.view(result.state, result.revision)),
      position: result.position?.toString() ?? null,
    };
  }
}
