import { Injectable } from '@nestjs/common';
import type { CommandContext } from '@app/command-handling';
import {
  DomainError,
  isRegistered,
  type SubscriptionCommand,
  subscriptionDecider,
  subscriptionStreamId,
} from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { SubscriptionReader } from './subscription-reader';
import type { SubscriptionView } from './subscription-view';

export interface SubscriptionCommandResult {
  subscription: SubscriptionView;
  events: string[];
  position: string | null;
}

/** Runs a command on a subscription's stream and answers with the Subscription resource. */
@Injectable()
export class SubscriptionCommands {
  constructor(
    private readonly runner: CommandRunner,
    private readonly reader: SubscriptionReader,
  ) {}

  now(): string {
    return this.runner.now();
  }

  async run(
    command: SubscriptionCommand,
    context: CommandContext,
  ): Promise<SubscriptionCommandResult> {
    const { subscriptionId } = command.data;
    const result = await this.runner.run(
      subscriptionStreamId(subscriptionId),
      subscriptionDecider,
      command,
      context,
    );
    if (!isRegistered(result.state))
      throw new DomainError('NOT_FOUND', `Subscription ${subscriptionId} does not exist.`);
    return {
      subscription: await this.reader.view(result.state, result.revision),
      events: result.events.map((e) => e.type),
      position: result.position?.toString() ?? null,
    };
  }
}
