import { randomUUID } from 'node:crypto';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { accountDecider, accountStreamId } from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { AccountDirectory } from '../account-directory';
import { ChangeLegalHoldCommand, type LegalHoldResult } from './legal-hold.command';

/** D3: holds and releases are events on the account's stream; they cover all its subscriptions. */
@CommandHandler(ChangeLegalHoldCommand)
export class ChangeLegalHoldHandler implements ICommandHandler<ChangeLegalHoldCommand> {
  constructor(
    private readonly runner: CommandRunner,
    private readonly accounts: AccountDirectory,
  ) {}

  async execute({ action, data, context }: ChangeLegalHoldCommand): Promise<LegalHoldResult> {
    await this.accounts.requireKnown(data.accountId);
    const now = this.runner.now();
    const result = await this.runner.run(
      accountStreamId(data.accountId),
      accountDecider,
      action === 'place'
        ? { type: 'PlaceLegalHold', data: { ...data, now, holdId: `hold-${randomUUID()}` } }
        : { type: 'ReleaseLegalHold', data: { ...data, now } },
      context,
    );
    return {
      accountId: data.accountId,
      legalHold: result.state.legalHold !== null,
      holdId: result.state.legalHold?.holdId ?? null,
      events: result.events.map((e) => e.type),
      position: result.position?.toString() ?? null,
    };
  }
}
