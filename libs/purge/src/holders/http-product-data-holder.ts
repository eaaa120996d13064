import { createHmac, randomUUID } from 'node:crypto';
import type { HolderReceipt, HolderVerification } from '@app/domain';
import {
  HolderFailedError,
  type ProductDataHolder,
  type PurgeRequest,
} from './product-data-holder.port';

export interface HttpHolderOptions {
  readonly name: string;
  readonly url: string;
  /** Where the verify request goes (D11); the purge URL followed by `/verify` when not given. */
  readonly verifyUrl?: string;
  /** Shared secret for the HMAC-SHA256 signature the holder verifies. */
  readonly secret: string;
  readonly timeoutMs?: number;
  /** Attempts before the holder counts as failed for this run (the purge stays open). */
  readonly attempts?: number;
  readonly backoffMs?: number;
  /** Seconds since the epoch, for the signature timestamp; injected so tests can pin it. */
  readonly nowSeconds?: () => number;
}

/** What a holder answers with a 2xx: counts and hashes of what it deleted. */
interface HolderResponse {
  itemsDeleted: number;
  bytesDeleted?: number;
  contentHash: string;
  receiptId: string;
}

/** What a holder answers a verify request with a 2xx: what it still finds of the subscription. */
interface VerifyResponse {
  remainingItems: number;
  receiptId?: string;
}

function isVerifyResponse(x: unknown): x is VerifyResponse {
  const r = x as Partial<VerifyResponse> | null;
  return (
    !!r &&
    Number.isInteger(r.remainingItems) &&
    r.remainingItems! >= 0 &&
    (r.receiptId === undefined || (typeof r.receiptId === 'string' && r.receiptId.length <= 200))
  );
}

function isHolderResponse(x: unknown): x is HolderResponse {
  const r = x as Partial<HolderResponse> | null;
  return (
    !!r &&
    Number.isInteger(r.itemsDeleted) &&
    r.itemsDeleted! >= 0 &&
    typeof r.contentHash === 'string' &&
    typeof r.receiptId === 'string' &&
    r.receiptId.length <= 200 &&
    (r.bytesDeleted === undefined || Number.isInteger(r.bytesDeleted))
  );
}

/** The signature a holder checks: HMAC-SHA256 over "<timestamp>.<body>", hex. */
export function signPurgeRequest(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * A product's own service that holds data of our subscriptions. POSTs the purge request, and
 * after it the verify request (D11), each signed with HMAC-SHA256 (headers X-Purge-Timestamp and
 * X-Purge-Signature: sha256=<hex>) with an Idempotency-Key; retries timeouts, network errors, 429
 * and 5xx with exponential backoff; a 2xx with a well-formed answer counts, anything else fails
 * the holder for this run (the purge stays open and the job retries it).
 */
export class HttpProductDataHolder implements ProductDataHolder {
  readonly name: string;

  constructor(private readonly o: HttpHolderOptions) {
    this.name = o.name;
  }

  async purge(request: PurgeRequest): Promise<HolderReceipt> {
    const answer = await this.send(
      this.o.url,
      { action: 'purge', ...purgeBody(request) },
      request.idempotencyKey,
      isHolderResponse,
    );
    return {
      holder: this.name,
      itemsDeleted: answer.itemsDeleted,
      bytesDeleted: answer.bytesDeleted ?? 0,
      contentHash: answer.contentHash,
      location: new URL(this.o.url).origin,
      externalReceiptId: answer.receiptId,
    };
  }

  async verify(request: PurgeRequest): Promise<HolderVerification> {
    // `action` is signed: a verify request cannot be replayed as a purge request, nor the reverse.
    const body = { action: 'verify', ...purgeBody(request) };
    // A read: a key of its own each time, so that no holder answers it from a cache.
    const answer = await this.send(
      this.o.verifyUrl ?? verifyUrlOf(this.o.url),
      body,
      `${request.idempotencyKey}-verify-${randomUUID()}`,
      isVerifyResponse,
    );
    return {
      holder: this.name,
      remainingItems: answer.remainingItems,
      method: 'http',
      externalReceiptId: answer.receiptId ?? null,
    };
  }

  private async send<T>(
    url: string,
    payload: object,
    idempotencyKey: string,
    wellFormed: (x: unknown) => x is T,
  ): Promise<T> {
    const attempts = this.o.attempts ?? 4;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await this.attempt(url, JSON.stringify(payload), idempotencyKey, wellFormed);
      } catch (error) {
        lastError = error;
        if (error instanceof HolderFailedError && !isRetryable(error)) throw error;
        if (attempt < attempts) await sleep((this.o.backoffMs ?? 200) * 2 ** (attempt - 1));
      }
    }
    throw lastError instanceof HolderFailedError
      ? lastError
      : new HolderFailedError(this.name, `no answer after ${attempts} attempts`, {
          cause: lastError,
        });
  }

  private async attempt<T>(
    url: string,
    body: string,
    idempotencyKey: string,
    wellFormed: (x: unknown) => x is T,
  ): Promise<T> {
    const timestamp = String(this.o.nowSeconds?.() ?? Math.floor(Date.now() / 1000));
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
          'x-purge-timestamp': timestamp,
          'x-purge-signature': `sha256=${signPurgeRequest(this.o.secret, timestamp, body)}`,
        },
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new HolderFailedError(this.name, `request failed (${(error as Error).name})`, {
        cause: error,
      });
    }
    const text = await response.text();
    if (!response.ok) {
      const e = new HolderFailedError(this.name, `answered ${response.status}`);
      (e as HolderFailedError & { status?: number }).status = response.status;
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new HolderFailedError(this.name, 'answered 2xx without a JSON answer');
    }
    if (!wellFormed(parsed))
      throw new HolderFailedError(this.name, 'answered 2xx with a malformed answer');
    return parsed;
  }
}

/** `<purge url>/verify`, the query string kept where it was. */
export function verifyUrlOf(purgeUrl: string): string {
  const url = new URL(purgeUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/verify`;
  return url.toString();
}

function purgeBody(request: PurgeRequest) {
  return {
    purgeId: request.purgeId,
    subscriptionId: request.subscriptionId,
    accountId: request.accountId,
    productId: request.productId,
  };
}

function isRetryable(error: HolderFailedError): boolean {
  const status = (error as HolderFailedError & { status?: number }).status;
  if (status === undefined) return !/malformed|without a JSON/.test(error.message);
  return status === 408 || status === 429 || status >= 500;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
