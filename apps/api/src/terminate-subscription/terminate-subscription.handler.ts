import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  DomainError,
  isRegistered,
  purgeNoticesFor,
  subscriptionDecider,
  subscriptionStreamId,
  type TerminationScheduled,
} from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { SubscriptionReader } from '../subscription-reader';
import {
  TerminateSubscriptionCommand,
  type TerminateSubscriptionResult,
} from './terminate-subscription.command';

/** D8: a termination scheduled (with `immediately`, the expiry in the same append). */
@CommandHandler(TerminateSubscriptionCommand)
export class TerminateSubscriptionHandler implements ICommandHandler<TerminateSubscriptionCommand> {
  constructor(
    private readonly runner: CommandRunner,
    private readonly reader: SubscriptionReader,
  ) {}

  async execute({
    data,
    context,
  }: TerminateSubscriptionCommand): Promise<TerminateSubscriptionResult> {
    const result = await this.runner.run(
      subscriptionStreamId(data.subscriptionId),
      subscriptionDecider,
      { type: 'ScheduleTermination', data: { ...data, now: this.runner.now() } },
      context,
    );
    const state = result.state;
    if (!isRegistered(state))
      throw new DomainError('NOT_FOUND', `Subscription ${data.subscriptionId} does not exist.`);
    // A replayed key answers from the events the first request wrote; a repeat from the state.
    const scheduled = result.events.find((e) => e.type === 'TerminationScheduled')?.data as
      TerminationScheduled['data'] | undefined;
    const termination = scheduled ?? state.termination;
    if (!termination)
      throw new DomainError(
        'INVALID_STATE',
        `Subscription ${data.subscriptionId} is ${state.status}.`,
      );
    return {
      subscription: await this.reader.view(state, result.revision),
      effectiveAt: termination.effectiveAt,
      purgeAt: termination.purgeAt,
      purgeNotices: purgeNoticesFor(
        termination.purgeAt,
        state.timeZone,
        this.reader.purgeNoticeDays,
      ),
      events: result.events.map((e) => e.type),
      position: result.position?.toString() ?? null,
    };
  }
}
