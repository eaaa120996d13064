import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  accountDecider,
  accountStreamId,
  type ErasureReceipt,
  type RecordPersonalDataErasure,
  recordedRefusal,
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
 *
 * D10: first the account decider decides whether the erasure may run at all
 * (RequestPersonalDataErasure on the account stream): under a legal hold it records one
 * ErasureRefused, answered as 409 LEGAL_HOLD, and nothing is shredded or scrubbed. (A hold placed
 * in the moment between that decision and the shredding comes after the erasure in the log.)
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
    const streamId = accountStreamId(data.accountId);
    // A repeated key is answered from the log here too: a refused request stays refused.
    const asked = await this.runner.run(
      streamId,
      accountDecider,
      { type: 'RequestPersonalDataErasure', data: { ...data, now: this.runner.now() } },
      context,
    );
    const refusal = recordedRefusal(asked.events);
    if (refusal) throw refusal;

    const erased: { receipt?: ErasureReceipt } = {};
    const result = await this.runner.run(
      streamId,
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
