import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { ConfirmationsTable } from '../database/read-db.schema';
import type { ReadStore } from '../read-store';
import { WebhookSender, type WebhookTarget } from './webhook-sender';

/** R16: the confirmation a contract customer gets when their cancellation is recorded. */
export interface ConfirmationMessage {
  /** The CancellationRequested event's id: receivers deduplicate on it. */
  eventId: string;
  accountId: string;
  subscriptionId: string;
  productId: string;
  subject: string;
  body: string;
  recordedAt: string;
}

/** The outbox row as GET /v1/accounts/{accountId}/confirmations lists it. */
export interface ConfirmationView extends ConfirmationMessage {
  position: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
}

export function toConfirmationView(row: ConfirmationsTable): ConfirmationView {
  return {
    ...toMessage(row),
    position: String(row.position),
    status: row.status as ConfirmationView['status'],
    attempts: row.attempts,
    deliveredAt: row.delivered_at,
    nextAttemptAt: row.next_attempt_at,
  };
}

const toMessage = (row: ConfirmationsTable): ConfirmationMessage => ({
  eventId: row.event_id,
  accountId: row.account_id,
  subscriptionId: row.subscription_id,
  productId: row.product_id,
  subject: row.subject,
  body: row.body,
  recordedAt: row.recorded_at,
});

/**
 * The notifier port. The embedded adapter is the outbox table itself (every confirmation is
 * recorded there by the projection, listable over HTTP); a sender delivers from it.
 * `send` resolves when the receiver accepted the message and throws otherwise.
 */
export interface ConfirmationSender {
  send(message: ConfirmationMessage): Promise<void>;
}

/**
 * Standard Webhooks signature: HMAC-SHA256 over `<id>.<timestamp>.<body>`, base64, sent as
 * `webhook-signature: v1,<sig>` with `webhook-id` and `webhook-timestamp` (seconds). Computed by
 * the `standardwebhooks` package (the one signing implementation of the service) with the
 * secret used as is (`format: 'raw'`, its UTF-8 bytes are the HMAC key): NOTIFY_WEBHOOK_SECRET
 * is a plain string, not a `whsec_` base64 key.
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  return new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' }).sign(
    id,
    new Date(timestamp * 1000),
    body,
  );
}

/** For receivers (and tests): checks the signature and that the timestamp is recent. */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): boolean {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sig = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof ts !== 'string' || typeof sig !== 'string') return false;
  const timestamp = Number(ts);
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  // The tolerance is checked here (the package's verify() reads the real clock with a fixed
  // 5 minutes); the signature itself comes from the package.
  if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300))
    return false;
  const expected = Buffer.from(signWebhook(secret, id, timestamp, body));
  // Several signatures may be sent (secret rotation), separated by spaces.
  return sig.split(' ').some((s) => {
    const given = Buffer.from(s);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export interface ConfirmationWebhookOptions {
  url: string;
  secret: string;
  timeoutMs?: number;
  /** Seconds since the epoch (tests pin it). */
  nowSeconds?: () => number;
}

/**
 * Production adapter: a signed POST of the confirmation as JSON, sent by the one webhook sender
 * of the service (WebhookSender: Standard Webhooks headers, no redirects followed, the answer's
 * body discarded); any 2xx counts as delivered.
 */
export class WebhookConfirmationSender implements ConfirmationSender {
  private readonly sender: WebhookSender;
  private readonly target: WebhookTarget;

  constructor(o: ConfirmationWebhookOptions) {
    const nowSeconds = o.nowSeconds;
    this.sender = new WebhookSender({
      timeoutMs: o.timeoutMs ?? 5000,
      ...(nowSeconds ? { now: () => new Date(nowSeconds() * 1000) } : {}),
    });
    // NOTIFY_WEBHOOK_SECRET is a plain string: its UTF-8 bytes are the key (signWebhook).
    this.target = { url: o.url, key: Buffer.from(o.secret, 'utf8') };
  }

  async send(message: ConfirmationMessage): Promise<void> {
    const body = JSON.stringify({ type: 'subscription.cancellation.confirmed', ...message });
    const attempt = await this.sender.send(this.target, { eventId: message.eventId, body });
    if (attempt.ok) return;
    throw new Error(
      attempt.statusCode !== null
        ? `webhook answered ${attempt.statusCode}`
        : (attempt.error ?? 'webhook not delivered'),
    );
  }
}

export interface ConfirmationDispatcherOptions {
  store: ReadStore;
  sender: ConfirmationSender;
  intervalMs?: number;
  batchSize?: number;
  /** Delay before the n-th retry: doubles from 1 s up to 1 h. */
  backoffMs?: (attempts: number) => number;
  now?: () => Date;
  onError?: (error: unknown, eventId: string) => void;
}

/**
 * Delivers the outbox through a sender, at least once, in event order. A message is marked
 * delivered only after the sender resolved; a failure is retried with backoff. Receivers
 * deduplicate on the event id (`webhook-id`), so a crash between send and mark is harmless.
 */
export class ConfirmationDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = true;

  constructor(private readonly o: ConfirmationDispatcherOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.runOnce().catch(() => 0);
      void this.running.finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs ?? 1000);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over what is due; returns how many were delivered. */
  async runOnce(): Promise<number> {
    const now = this.o.now?.() ?? new Date();
    const due = await this.o.store.dueConfirmations(now.toISOString(), this.o.batchSize ?? 50);
    let delivered = 0;
    for (const row of due) {
      try {
        await this.o.sender.send(toMessage(row));
        await this.o.store.markConfirmationDelivered(row.event_id, new Date().toISOString());
        delivered++;
      } catch (error) {
        this.o.onError?.(error, row.event_id);
        const delay = (this.o.backoffMs ?? defaultBackoff)(row.attempts + 1);
        const next = new Date((this.o.now?.() ?? new Date()).getTime() + delay).toISOString();
        await this.o.store.markConfirmationFailed(
          row.event_id,
          error instanceof Error ? error.message : String(error),
          next,
        );
      }
    }
    return delivered;
  }
}

const defaultBackoff = (attempts: number): number =>
  Math.min(3_600_000, 1000 * 2 ** Math.min(attempts - 1, 20));
