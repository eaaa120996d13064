import type { Instant } from '../kernel/time';

export interface ActiveLegalHold {
  readonly holdId: string;
  readonly placedAt: Instant;
}

export interface AccountState {
  readonly legalHold: ActiveLegalHold | null;
  readonly lastErasedAt: Instant | null;
}

export const initialAccountState = (): AccountState => ({ legalHold: null, lastErasedAt: null });
