import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '@app/command-handling';
import type { RecordPersonalDataErasure } from '@app/domain';

/** The erasure receipt (R17). */
export interface ErasePersonalDataResult {
  accountId: string;
  keysShredded: string[];
  readModelRowsScrubbed: number;
  events: string[];
  position: string | null;
}

/**
 * R17 as the request states it; the handler erases, then records the erasure with its receipt
 * and the time (D5).
 */
export class ErasePersonalDataCommand extends Command<ErasePersonalDataResult> {
  constructor(
    readonly data: Omit<RecordPersonalDataErasure['data'], 'now' | 'receipt'>,
    readonly context: CommandContext,
  ) {
    super();
  }
}
