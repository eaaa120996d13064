import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { ReleaseLegalHold } from '@app/domain';

export interface LegalHoldResult {
  accountId: string;
  legalHold: boolean;
  holdId: string | null;
  events: string[];
  position: string | null;
}

/**
 * Places or releases an account's legal hold (D3): PlaceLegalHold or ReleaseLegalHold, as the
 * request states it; the handler adds the time (D5) and a new hold's id.
 */
export class ChangeLegalHoldCommand extends Command<LegalHoldResult> {
  constructor(
    readonly action: 'place' | 'release',
    readonly data: Omit<ReleaseLegalHold['data'], 'now'>,
    readonly context: CommandContext,
  ) {
    super();
  }
}
