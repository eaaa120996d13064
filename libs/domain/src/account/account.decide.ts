import { validationFailed } from '../kernel/domain-error';
import { parseInstant, toInstant } from '../kernel/time';
import type { AccountCommand } from './account.commands';
import type { AccountEvent } from './account.events';
import type { AccountState } from './account.state';

/**
 * D3 legal holds and R17 erasure records, per account. Placing a hold that is already in force,
 * or releasing when none is, changes nothing (idempotent): operators retry. An erasure asked while
 * a hold is in force is refused and the refusal recorded (D10).
 */
export function decideAccount(command: AccountCommand, state: AccountState): AccountEvent[] {
  const c = command.data;
  const now = toInstant(parseInstant(c.now, 'now'));
  if (c.reason.trim() === '') throw validationFailed('A reason is required.', { field: 'reason' });
  switch (command.type) {
    case 'PlaceLegalHold':
      if (state.legalHold) return [];
      return [
        {
          type: 'LegalHoldPlaced',
          data: {
            accountId: c.accountId,
            holdId: command.data.holdId,
            placedAt: now,
            requestedBy: c.requestedBy,
            reason: c.reason,
          },
        },
      ];
    case 'ReleaseLegalHold':
      if (!state.legalHold) return [];
      return [
        {
          type: 'LegalHoldReleased',
          data: {
            accountId: c.accountId,
            holdId: state.legalHold.holdId,
            releasedAt: now,
            requestedBy: c.requestedBy,
            reason: c.reason,
          },
        },
      ];
    case 'RecordPersonalDataErasure':
      return [
        {
          type: 'PersonalDataErased',
          data: {
            accountId: c.accountId,
            erasedAt: now,
            requestedBy: c.requestedBy,
            reason: c.reason,
            receipt: command.data.receipt,
          },
        },
      ];
    case 'RequestPersonalDataErasure':
      // D10: decided before anything is shredded; allowed: nothing to record until it is done.
      if (!state.legalHold) return [];
      return [
        {
          type: 'ErasureRefused',
          data: {
            accountId: c.accountId,
            code: 'LEGAL_HOLD',
            rule: 'D10',
            message: `Account ${c.accountId} is under legal hold ${state.legalHold.holdId}: its data is kept for the legal claim (GDPR Art. 17(3)(e)). Ask again once the hold is released.`,
            holdId: state.legalHold.holdId,
            requestedBy: c.requestedBy,
            reason: c.reason,
            refusedAt: now,
          },
        },
      ];
    default: {
      const unexpected: never = command;
      throw new TypeError(`Unknown command ${JSON.stringify(unexpected)}`);
    }
  }
}
