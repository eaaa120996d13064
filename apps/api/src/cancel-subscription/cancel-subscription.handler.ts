import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  type CancellationRequested,
  DomainError,
  isRegistered,
  purgeNoticesFor,
  recordedRefusal,
  subscriptionDecider,
  subscriptionStreamId,
} from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { SubscriptionReader } from '../subscription-reader';
import {
  CancelSubscriptionCommand,
  type CancelSubscriptionResult,
} from './cancel-subscription.command';

/**
 * R1–R13, D6. A refusal by policy is written first (one CancellationRefused) and then answered
 * with its code; a repeat while pending answers the pending cancellation with no events.
 */
@CommandHandler(CancelSubscriptionCommand)
export class CancelSubscriptionHandler implements ICommandHandler<CancelSubscriptionCommand> {
  constructor(
    private readonly runner: CommandRunner,
    private readonly reader: SubscriptionReader,
  ) {}

  async execute({ data, context }: CancelSubscriptionCommand): Promise<CancelSubscriptionResult> {
    const result = await this.runner.run(
      subscriptionStreamId(data.subscriptionId),
      subscriptionDecider,
      { type: 'RequestCancellation', data: { ...data, now: this.runner.now() } },
      context,
    );
    const refusal = recordedRefusal(result.events);
    if (refusal) throw refusal;
    const state = result.state;
    if (!isRegistered(state))
      throw new DomainError('NOT_FOUND', `Subscription ${data.subscriptionId} does not exist.`);
    // A replayed key answers from the events the first request wrote, whatever happened since.
    const requested = result.events.find((e) => e.type === 'CancellationRequested')?.data as
      CancellationRequested['data'] | undefined;
    const decision =
      requested ??
      (state.status === 'cancellation_pending'
        ? { ...state.cancellation, expiresAt: state.expiresAt, purgeAt: state.purgeAt }
        : null);
    if (!decision)
      throw new DomainError(
        'INVALID_STATE',
        `Subscription ${data.subscriptionId} is ${state.status}.`,
      );
    return {
      subscription: await this.reader.view(state, result.revision),
      effectiveAt: decision.expiresAt,
      purgeAt: decision.purgeAt,
      refund: 'none',
      noticeDeadlineMissed: decision.noticeDeadlineMissed,
      noticeDeadline: decision.noticeDeadline,
      purgeNotices: purgeNoticesFor(decision.purgeAt, state.timeZone, this.reader.purgeNoticeDays),
      events: result.events.map((e) => e.type),
      position: result.position?.toString() ?? null,
    };
  }
}
