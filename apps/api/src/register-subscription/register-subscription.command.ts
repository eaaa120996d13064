import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { Money, Plan } from '@app/domain';
import type { SubscriptionView } from '../subscription-view';

export interface RegisterSubscriptionInput {
  subscriptionId: string;
  accountId: string;
  productId: string;
  plan: Plan;
  termStart: string;
  timeZone: string;
  contract: boolean;
  autoRenew: boolean;
  outstandingBalance: Money | null;
  assignedLicences: number;
}

export interface RegisterSubscriptionResult {
  subscription: SubscriptionView;
  position: string | null;
  replayed: boolean;
}

export class RegisterSubscriptionCommand extends Command<RegisterSubscriptionResult> {
  constructor(
    readonly input: RegisterSubscriptionInput,
    readonly context: CommandContext,
  ) {
    super();
  }
}
