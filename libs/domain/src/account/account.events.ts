import type { Actor } from '../shared/actor';
import type { Instant } from '../shared/time';
import type { Event } from '../subscription/subscription.events';

/**
 * Events of one account's stream (`account-<accountId>`): facts about the whole account rather
 * than one subscription. A legal hold (D3) covers every subscription of the account.
 */
export type LegalHoldPlaced = Event<
  'LegalHoldPlaced',
  { accountId: string; holdId: string; placedAt: Instant; requestedBy: Actor; reason: string }
>;

export type LegalHoldReleased = Event<
  'LegalHoldReleased',
  { accountId: string; holdId: string; releasedAt: Instant; requestedBy: Actor; reason: string }
>;

/** What a GDPR erasure did (R17): keys shredded, rows scrubbed. Never the erased data itself. */
export interface ErasureReceipt {
  keysShredded: string[];
  readModelRowsScrubbed: number;
}

export type PersonalDataErased = Event<
  'PersonalDataErased',
  {
    accountId: string;
    erasedAt: Instant;
    requestedBy: Actor;
    reason: string;
    receipt: ErasureReceipt;
  }
>;

export type AccountEvent = LegalHoldPlaced | LegalHoldReleased | PersonalDataErased;
export type AccountEventType = AccountEvent['type'];
export const ACCOUNT_EVENT_TYPES: readonly AccountEventType[] = [
  'LegalHoldPlaced',
  'LegalHoldReleased',
  'PersonalDataErased',
];
