import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { Actor, CustomerChannel, SupportVerification, SurveyAnswer } from '@app/domain';
import type { SubscriptionView } from '../subscription-view';

export interface CancelSubscriptionResult {
  subscription: SubscriptionView;
  effectiveAt: string;
  purgeAt: string;
  refund: 'none';
  noticeDeadlineMissed: boolean;
  noticeDeadline: string | null;
  events: string[];
  /** Global position of the last event written (pass as ?minPosition= to read your write). */
  position: string | null;
}

export class CancelSubscriptionCommand extends Command<CancelSubscriptionResult> {
  constructor(
    readonly subscriptionId: string,
    readonly requestedBy: Actor,
    readonly channel: CustomerChannel,
    readonly survey: SurveyAnswer | null,
    readonly verification: SupportVerification | null,
    readonly context: CommandContext,
  ) {
    super();
  }
}
