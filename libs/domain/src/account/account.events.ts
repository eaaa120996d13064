import type { Actor } from '../kernel/actor';
import type { ErasureRefusalCode } from '../kernel/domain-error';
import type { Instant } from '../kernel/time';
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

/**
 * D10: an erasure (R17) refused because the account is under a legal hold (D3): the holder of a
 * legal claim keeps the data it needs (GDPR Art. 17(3)(e)). Recorded like D6's refusals; it
 * changes no state, and the erasure may be asked again after the release. The reason is the
 * request's ticket reference, not personal data (as in PersonalDataErased).
 */
export type ErasureRefused = Event<
  'ErasureRefused',
  {
    accountId: string;
    code: ErasureRefusalCode;
    /** The rule that refused: "D10". */
    rule: string;
    message: string;
    holdId: string;
    requestedBy: Actor;
    reason: string;
    refusedAt: Instant;
  }
>;

export type AccountEvent =
  LegalHoldPlaced | LegalHoldReleased | PersonalDataErased | ErasureRefused;
export type AccountEventType = AccountEvent['type'];
export const ACCOUNT_EVENT_TYPES: readonly AccountEventType[] = [
  'LegalHoldPlaced',
  'LegalHoldReleased',
  'PersonalDataErased',
  'ErasureRefused',
];
