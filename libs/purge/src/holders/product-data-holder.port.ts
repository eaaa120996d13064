import type { HolderReceipt, HolderVerification } from '@app/domain';

/** What a data holder is asked to delete: every product datum of one subscription. */
export interface PurgeRequest {
  readonly purgeId: string;
  readonly subscriptionId: string;
  readonly accountId: string;
  readonly productId: string;
  /** Stable per (purge, holder): a retried request must not be counted twice by the holder. */
  readonly idempotencyKey: string;
}

/**
 * A place where a subscription's product data lives (a product's own service, or this service's
 * embedded store). `purge` deletes everything of the subscription and answers with a receipt:
 * counts and content hashes, never the data itself. It must be idempotent: asked again with the
 * same idempotency key after a crash, it answers the same receipt, and deletes again whatever
 * it finds left. `verify` (D11), asked after the deletion, looks for anything of the
 * subscription that remains and counts it; it changes nothing.
 */
export interface ProductDataHolder {
  readonly name: string;
  purge(request: PurgeRequest): Promise<HolderReceipt>;
  verify(request: PurgeRequest): Promise<HolderVerification>;
}

export class HolderFailedError extends Error {
  readonly code = 'HOLDER_FAILED';
  constructor(
    readonly holder: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`Data holder ${holder}: ${message}`, options);
    this.name = 'HolderFailedError';
  }
}
