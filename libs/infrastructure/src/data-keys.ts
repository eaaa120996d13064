import { type DataKeyRef, type NewEvent } from '@app/event-store';

/**
 * Which data key protects an event's personal fields. One key per subscription (its stream), one
 * per account stream, all grouped by account: a purge shreds one subscription's key, a GDPR
 * erasure (R17) shreds every key of the account.
 */
export function dataKeyFor(streamId: string, event: NewEvent): DataKeyRef | null {
  const accountId = event.data['accountId'];
  if (typeof accountId !== 'string') return null;
  if (streamId.startsWith('subscription-')) return { keyId: `key-${streamId}`, accountId };
  if (streamId.startsWith('account-')) return { keyId: `key-${streamId}`, accountId };
  return null;
}

export const subscriptionKeyId = (subscriptionId: string): string =>
  `key-subscription-${subscriptionId}`;
