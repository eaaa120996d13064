import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { Actor } from '@app/domain';
import type { ErasureResult } from '@app/purge';

export class ErasePersonalDataCommand extends Command<ErasureResult> {
  constructor(
    readonly accountId: string,
    readonly requestedBy: Actor,
    readonly reason: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}
