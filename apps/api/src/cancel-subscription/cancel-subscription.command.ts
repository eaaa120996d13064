import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type {
  Actor,
  CustomerChannel,
  RequestCancellation,
  SupportVerification,
  SurveyAnswer,
} from '@app/domain';
import type { PurgeNoticeView, SubscriptionView } from '../subscription-view';

export interface CancelSubscriptionResult {
  subscription: SubscriptionView;
  effectiveAt: string;
  purgeAt: string;
  refund: 'none';
  noticeDeadlineMissed: boolean;
  noticeDeadline: string | null;
  /** D7: the purge notices planned for the purge date announced (`purgeAt`). */
  purgeNotices: PurgeNoticeView[];
  events: string[];
  /** Global position of the last event written (pass as ?minPosition= to read your write). */
  position: string | null;
}

/** The cancellation as the request states it; the handler adds the time (D5). */
export class CancelSubscriptionCommand extends Command<CancelSubscriptionResult> {
  readonly data: Omit<RequestCancellation['data'], 'now'>;

  constructor(
    subscriptionId: string,
    requestedBy: Actor,
    channel: CustomerChannel,
    survey: SurveyAnswer | null,
    verification: SupportVerification | null,
    readonly context: CommandContext,
  ) {
    super();
    this.data = { subscriptionId, requestedBy, channel, survey, verification };
  }
}
