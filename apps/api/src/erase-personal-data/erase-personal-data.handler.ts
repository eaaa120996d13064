import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type ErasureResult, PersonalDataEraser } from '@app/purge';
import { ErasePersonalDataCommand } from './erase-personal-data.command';

/** R17: shred the account's keys and scrub read models now; record PersonalDataErased. */
@CommandHandler(ErasePersonalDataCommand)
export class ErasePersonalDataHandler implements ICommandHandler<ErasePersonalDataCommand> {
  constructor(private readonly eraser: PersonalDataEraser) {}

  execute(c: ErasePersonalDataCommand): Promise<ErasureResult> {
    return this.eraser.erase(c.accountId, c.requestedBy, c.reason, c.context);
  }
}
