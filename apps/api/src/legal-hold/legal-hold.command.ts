import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { Actor } from '@app/domain';

export interface LegalHoldResult {
  accountId: string;
  legalHold: boolean;
  holdId: string | null;
  events: string[];
  position: string | null;
}

export class ChangeLegalHoldCommand extends Command<LegalHoldResult> {
  constructor(
    readonly action: 'place' | 'release',
    readonly accountId: string,
    readonly requestedBy: Actor,
    readonly reason: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
