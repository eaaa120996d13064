import type { Actor } from '../kernel/actor';
import type { Instant } from '../kernel/time';
import type { Command } from '../subscription/subscription.commands';
import type { ErasureReceipt } from './account.events';

export type PlaceLegalHold = Command<
  'PlaceLegalHold',
  { accountId: string; holdId: string; requestedBy: Actor; reason: string; now: Instant }
>;

export type ReleaseLegalHold = Command<
  'ReleaseLegalHold',
  { accountId: string; requestedBy: Actor; reason: string; now: Instant }
>;

/** Records an erasure the caller has just carried out (keys shredded, read models scrubbed). */
export type RecordPersonalDataErasure = Command<
  'RecordPersonalDataErasure',
  { accountId: string; requestedBy: Actor; reason: string; receipt: ErasureReceipt; now: Instant }
>;

/**
 * D10: asks, before anything is shredded, whether an erasure (R17) may run now. Under a legal hold
 * it is refused and the refusal recorded (ErasureRefused); otherwise nothing is written, the
 * caller erases and then records it (RecordPersonalDataErasure).
 */
export type RequestPersonalDataErasure = Command<
  'RequestPersonalDataErasure',
  { accountId: string; requestedBy: Actor; reason: string; now: Instant }
>;

export type AccountCommand =
  PlaceLegalHold | ReleaseLegalHold | RecordPersonalDataErasure | RequestPersonalDataErasure;
