import { Webhook } from 'standardwebhooks';

/** What one attempt came to. `error` is short and never holds a response body. */
export interface WebhookAttempt {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

export interface WebhookMessage {
  /** `evt_…`: the `webhook-id` header, what receivers deduplicate on. */
  eventId: string;
  /** The envelope JSON, sent and signed byte for byte. */
  body: string;
}

export interface WebhookTarget {
  url: string;
  /** The signing key's bytes (the base64-decoded part of `whsec_…`). */
  key: Uint8Array;
}

/** Longest `last_error` kept. */
const MAX_ERROR = 200;

export const truncateError = (text: string): string =>
  text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR - 1)}…` : text;

/**
 * Sends one delivery: a POST of the envelope with Standard Webhooks headers (`webhook-id`,
 * `webhook-timestamp` in seconds of the real clock, `webhook-signature: v1,<base64 HMAC-SHA256>`),
 * signed by the `standardwebhooks` package. A 2xx is delivered; anything else (another status,
 * a redirect, which is never followed, a timeout, a network error) is a failed attempt. The
 * response body is discarded unread.
 */
export class WebhookSender {
  constructor(private readonly o: { timeoutMs: number; now?: () => Date }) {}

  async send(target: WebhookTarget, message: WebhookMessage): Promise<WebhookAttempt> {
    const at = this.o.now?.() ?? new Date();
    try {
      // Inside the try: a key it cannot sign with is a failed attempt like any other.
      const signature = new Webhook(target.key, { format: 'raw' }).sign(
        message.eventId,
        at,
        message.body,
      );
      const response = await fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'subscription-eol-webhooks/1',
          'webhook-id': message.eventId,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body: message.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      const status = response.status;
      if (status >= 200 && status < 300) return { ok: true, statusCode: status, error: null };
      const error =
        status >= 300 && status < 400
          ? `redirect ${status} not followed`
          : status === 0
            ? 'redirect not followed'
            : `HTTP ${status}`;
      return { ok: false, statusCode: status === 0 ? null : status, error };
    } catch (error) {
      return {
        ok: false,
        statusCode: null,
        error: truncateError(describe(error, this.o.timeoutMs)),
      };
    }
  }
}

function describe(error: unknown, timeoutMs: number): string {
  // By shape, not `instanceof Error`: fetch's abort is a DOMException, of another realm under a
  // test runner.
  const e = error as {
    name?: unknown;
    message?: unknown;
    cause?: { code?: unknown; message?: unknown };
  } | null;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError')
    return `timeout after ${timeoutMs} ms`;
  if (e?.cause && typeof e.cause.code === 'string') return `network error: ${e.cause.code}`;
  if (e?.cause && typeof e.cause.message === 'string') return `network error: ${e.cause.message}`;
  return typeof e?.message === 'string' ? `network error: ${e.message}` : 'network error';
}
