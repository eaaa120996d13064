import type { AccountEventType } from './account/account.events';
import type { SubscriptionEventType } from './subscription/subscription.events';

/**
 * Which fields of which events hold personal data (R10, R12's free text, R17). The event store
 * encrypts exactly these (dotted paths into `data`) with a per-subscription / per-account key, so
 * an erasure or a purge shreds a key instead of rewriting the log.
 */
export const PERSONAL_DATA_FIELDS: Readonly<
  Partial<Record<SubscriptionEventType | AccountEventType, readonly string[]>>
> = Object.freeze({
  CancellationRequested: [
    'verification.billingAdminEmail',
    'verification.paymentLast4',
    'verification.billingAddress',
    'survey.comment',
  ],
  // Hold reasons are free text written by people and may name people. (An erasure's own reason
  // is not personal: it is recorded after the account's keys are gone, so it could not be read.)
  // D8: the termination's note is free text about the customer.
  TerminationScheduled: ['note'],
  LegalHoldPlaced: ['reason'],
  LegalHoldReleased: ['reason'],
});

export function personalDataFields(eventType: string): readonly string[] {
  return (PERSONAL_DATA_FIELDS as Record<string, readonly string[] | undefined>)[eventType] ?? [];
}

/** What a reader sees in place of a personal field whose key was shredded. */
export const ERASED_MARKER = '[erased]';
