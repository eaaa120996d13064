import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { ScheduleTermination } from '@app/domain';
import type { PurgeNoticeView, SubscriptionView } from '../subscription-view';

export interface TerminateSubscriptionResult {
  subscription: SubscriptionView;
  effectiveAt: string;
  purgeAt: string;
  /** D7: the purge notices planned for the purge date announced (`purgeAt`). */
  purgeNotices: PurgeNoticeView[];
  events: string[];
  /** Global position of the last event written (pass as ?minPosition= to read your write). */
  position: string | null;
}

/** The termination as the request states it; the handler adds the time (D5). */
export class TerminateSubscriptionCommand extends Command<TerminateSubscriptionResult> {
  constructor(
    readonly data: Omit<ScheduleTermination['data'], 'now'>,
    readonly context: CommandContext,
  ) {
    super();
  }
}
