import type { AccountEvent } from './account.events';
import type { AccountState } from './account.state';

export function evolveAccount(state: AccountState, event: AccountEvent): AccountState {
  switch (event.type) {
    case 'LegalHoldPlaced':
      return { ...state, legalHold: { holdId: event.data.holdId, placedAt: event.data.placedAt } };
    case 'LegalHoldReleased':
      return { ...state, legalHold: null };
    case 'PersonalDataErased':
      return { ...state, lastErasedAt: event.data.erasedAt };
    case 'ErasureRefused':
      // A refusal is a fact for the audit trail; it changes nothing (D10, as D6).
      return state;
    default: {
      const unexpected: never = event;
      return unexpected;
    }
  }
}
