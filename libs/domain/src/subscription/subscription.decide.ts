import { completePurge, recordHolderPurged, startPurge, verifyPurge } from './decide/purge.decide';
import { processTermEnd } from './decide/process-term-end.decide';
import { reactivateSubscription } from './decide/reactivate-subscription.decide';
import { registerSubscription } from './decide/register-subscription.decide';
import { requestCancellation } from './decide/request-cancellation.decide';
import { revokeTermination, scheduleTermination } from './decide/terminate-subscription.decide';
import { withdrawCancellation } from './decide/withdraw-cancellation.decide';
import { updateBillingFacts } from './decide/update-billing-facts.decide';
import { issuePurgeNotice } from './decide/issue-purge-notice.decide';
import type { SubscriptionCommand } from './subscription.commands';
import type { SubscriptionEvent } from './subscription.events';
import type { SubscriptionState } from './subscription.state';

/**
 * decide(command, state) → events. One small function per command; this only dispatches.
 * Throws DomainError when the command cannot apply (nothing is written); returns [] when it
 * applies but changes nothing (idempotent repeats, early or stale jobs).
 */
export function decide(
  command: SubscriptionCommand,
  state: SubscriptionState,
): SubscriptionEvent[] {
  switch (command.type) {
    case 'RegisterSubscription':
      return registerSubscription(command, state);
    case 'RequestCancellation':
      return requestCancellation(command, state);
    case 'WithdrawCancellation':
      return withdrawCancellation(command, state);
    case 'ProcessTermEnd':
      return processTermEnd(command, state);
    case 'ReactivateSubscription':
      return reactivateSubscription(command, state);
    case 'StartPurge':
      return startPurge(command, state);
    case 'RecordHolderPurged':
      return recordHolderPurged(command, state);
    case 'VerifyPurge':
      return verifyPurge(command, state);
    case 'CompletePurge':
      return completePurge(command, state);
    case 'ScheduleTermination':
      return scheduleTermination(command, state);
    case 'RevokeTermination':
      return revokeTermination(command, state);
    case 'UpdateBillingFacts':
      return updateBillingFacts(command, state);
    case 'IssuePurgeNotice':
      return issuePurgeNotice(command, state);
    default: {
      const unexpected: never = command;
      throw new TypeError(`Unknown command ${JSON.stringify(unexpected)}`);
    }
  }
}
