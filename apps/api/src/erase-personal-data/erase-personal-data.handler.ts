import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  accountDecider,
  accountStreamId,
  type ErasureReceipt,
  type RecordPersonalDataErasure,
} from '@app/domain';
import { CommandRunner, PreparedCommand } from '@app/infrastructure';
import { PersonalDataEraser } from '@app/purge';
import { AccountDirectory } from '../account-directory';
import {
  ErasePersonalDataCommand,
  type ErasePersonalDataResult,
} from './erase-personal-data.command';

/**
 * R17: shred the account's keys and scrub read models now; record PersonalDataErased with the
 * receipt. The erasure is the command's preparation: it runs once the idempotency key is claimed,
 * so a key reused for another account or request is refused before anything is shredded.
 */
@CommandHandler(ErasePersonalDataCommand)
export class ErasePersonalDataHandler implements ICommandHandler<ErasePersonalDataCommand> {
  constructor(
    private readonly runner: CommandRunner,
    private readonly eraser: PersonalDataEraser,
    private readonly accounts: AccountDirectory,
  ) {}

  async execute({ data, context }: ErasePersonalDataCommand): Promise<ErasePersonalDataResult> {
    await this.accounts.requireKnown(data.accountId);
    const erased: { receipt?: ErasureReceipt } = {};
    const result = await this.runner.run(
      accountStreamId(data.accountId),
      accountDecider,
      new PreparedCommand(
        'RecordPersonalDataErasure',
        async (): Promise<RecordPersonalDataErasure> => {
          const receipt = await this.eraser.erase(data.accountId);
          erased.receipt = receipt;
          return {
            type: 'RecordPersonalDataErasure',
            data: { ...data, receipt, now: this.runner.now() },
          };
        },
      ),
      context,
    );
    // Prepared on every run, a repeated key included (the erasure is idempotent): the receipt is
    // this run's, the events and position those of the log.
    const { keysShredded, readModelRowsScrubbed } = erased.receipt!;
    return {
      accountId: data.accountId,
      keysShredded,
      readModelRowsScrubbed,
      events: result.events.map((e) => e.type),
      position: result.position?.toString() ?? null,
    };
  }
}
