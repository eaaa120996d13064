import type { Logger } from 'pino';
import { retryDelayMs, type WebhookSettings } from './webhook-settings';
import type { WebhookAttempt, WebhookSender } from './webhook-sender';
import type { DeliveryRow, EndpointTarget, WebhookStore } from './webhook-store';

export type DeliveryOutcome = 'delivered' | 'retried' | 'failed';

export interface WebhookDispatcherOptions {
  store: WebhookStore;
  sender: WebhookSender;
  settings: WebhookSettings;
  logger: Logger;
  /** Counts each attempt's outcome (metrics). */
  onOutcome?: (outcome: DeliveryOutcome) => void;
  /** The real clock by default: delivery times are transport times, not the service's clock. */
  now?: () => Date;
}

/** How many pending deliveries an endpoint's loop holds in memory (each key's first may go). */
const PENDING_WINDOW = 1000;
/** Integration events a step makes deliveries of (one transaction). */
const MATERIALIZE_BATCH = 500;
/**
 * Accepted deliveries are recorded together, in one transaction, once this many wait or the
 * oldest has waited RECORD_AFTER_MS: one commit for many sends. A crash before the record sends
 * them again (at least once; receivers deduplicate on webhook-id), in the same order.
 */
const RECORD_BATCH = 64;
const RECORD_AFTER_MS = 20;

/**
 * Delivers the integration events to every endpoint: one independent loop per endpoint, so a
 * slow or dead endpoint never delays another (nor anything else of the process). Runs in one
 * process at a time (the `webhook-dispatcher` lease); it keeps nothing that matters in memory:
 * every delivery and cursor is in the read database, so a successor carries on where it stopped
 * (resending what was in flight: at least once).
 */
export class WebhookDispatcher {
  private readonly loops = new Map<string, EndpointLoop>();
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private stopped = true;

  constructor(private readonly o: WebhookDispatcherOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = (): void => {
      if (this.stopped) return;
      this.refreshing = this.refresh().catch((err: unknown) =>
        this.o.logger.warn({ err }, 'webhooks: listing the endpoints failed; retrying'),
      );
      void this.refreshing.finally(() => {
        if (!this.stopped)
          this.timer = setTimeout(tick, Math.max(this.o.settings.pollIntervalMs, 1000));
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.refreshing;
    await Promise.all([...this.loops.values()].map((l) => l.stop()));
    this.loops.clear();
  }

  /** Starts a loop for each endpoint that has none (ended loops are dropped). */
  private async refresh(): Promise<void> {
    const ids = await this.o.store.endpointIds();
    for (const id of ids) {
      if (this.stopped) return;
      if (this.loops.has(id)) continue;
      const loop = new EndpointLoop(id, this.o);
      this.loops.set(id, loop);
      void loop.done.then(() => {
        if (this.loops.get(id) === loop) this.loops.delete(id);
      });
    }
  }
}

/**
 * One endpoint: makes its deliveries from the integration events, then sends the due ones, at
 * most `concurrency` at once and one at a time per order key (a subscription, or an account for
 * account events): a later event of a key waits until the earlier one is delivered or failed.
 *
 * The loop holds a window of the endpoint's pending deliveries in memory (this process alone
 * dispatches the endpoint: the lease), so that a finished send lets the next delivery of its key
 * go without a query; the window is read again when it runs dry and every poll interval (manual
 * retries, deliveries made meanwhile). Deliveries are made from the integration events every
 * poll interval, or at once while a step found a full batch.
 */
class EndpointLoop {
  readonly done: Promise<void>;
  private stopped = false;
  /** Sends under way, by order key. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Their deliveries' ids. */
  private readonly inFlightIds = new Set<string>();
  private wake: (() => void) | null = null;
  /** A send finished while the loop was not asleep: the next sleep returns at once. */
  private woken = false;
  private target: EndpointTarget | null = null;
  /** Pending deliveries not in flight, in log order. */
  private window: DeliveryRow[] = [];
  private windowReadAt = 0;
  private materializedAt = 0;
  private behind = true;
  /** Accepted by the receiver, not yet recorded (RECORD_BATCH). */
  private accepted: { id: string; statusCode: number; at: Date }[] = [];

  constructor(
    private readonly id: string,
    private readonly o: WebhookDispatcherOptions,
  ) {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.done;
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  private async run(): Promise<void> {
    let delay = 0;
    while (!this.stopped) {
      try {
        delay = await this.step();
        if (delay < 0) break; // the endpoint is gone
      } catch (err) {
        this.o.logger.warn(
          { err, endpointId: this.id },
          'webhooks: endpoint step failed; retrying',
        );
        delay = this.o.settings.pollIntervalMs;
      }
      await this.sleep(this.accepted.length > 0 ? Math.min(delay, RECORD_AFTER_MS) : delay);
    }
    await Promise.allSettled([...this.inFlight.values()]);
    await this.record().catch((err: unknown) =>
      this.o.logger.warn({ err, endpointId: this.id }, 'webhooks: recording deliveries failed'),
    );
  }

  /** Records the accepted deliveries (a failure keeps them for the next step). */
  private async record(): Promise<void> {
    const batch = this.accepted;
    if (batch.length === 0) return;
    this.accepted = [];
    try {
      await this.o.store.markDelivered(batch);
    } catch (err) {
      this.accepted = [...batch, ...this.accepted];
      throw err;
    }
  }

  /** One step; returns how long to wait before the next one (−1: the endpoint was deleted). */
  private async step(): Promise<number> {
    const poll = this.o.settings.pollIntervalMs;
    const clock = Date.now();
    const oldest = this.accepted[0];
    if (
      oldest &&
      (this.accepted.length >= RECORD_BATCH || clock - oldest.at.getTime() >= RECORD_AFTER_MS)
    )
      await this.record();
    if (this.behind || clock - this.materializedAt >= poll) {
      const looked = await this.o.store.materialize(this.id, this.now(), MATERIALIZE_BATCH);
      if (looked === null) return -1;
      this.materializedAt = clock;
      this.behind = looked === MATERIALIZE_BATCH;
      if (looked > 0) this.windowReadAt = 0;
    }
    this.target ??= await this.o.store.target(this.id);
    if (!this.target) return -1;
    const room = this.o.settings.concurrency - this.inFlight.size;
    if (room <= 0) return this.behind ? 0 : poll;
    if (this.window.length === 0 || clock - this.windowReadAt >= poll) {
      // Recorded first, or the window would hold them as pending and send them again.
      await this.record();
      const rows = await this.o.store.pending(this.id, PENDING_WINDOW + this.inFlight.size);
      this.window = rows.filter((r) => !this.inFlightIds.has(r.id));
      this.windowReadAt = clock;
    }
    const now = this.now().getTime();
    let soonest = poll;
    // Only the first pending delivery of each key may go; the others wait for it.
    const blocked = new Set<string>(this.inFlight.keys());
    const launched = new Set<DeliveryRow>();
    for (const row of this.window) {
      if (launched.size >= room) break;
      if (blocked.has(row.order_key)) continue;
      blocked.add(row.order_key);
      const due = row.next_attempt_at ? Date.parse(row.next_attempt_at) : now;
      if (due > now) {
        soonest = Math.min(soonest, due - now);
        continue;
      }
      launched.add(row);
      this.launch(this.target, row);
    }
    if (launched.size > 0) this.window = this.window.filter((r) => !launched.has(r));
    return this.behind ? 0 : Math.max(soonest, 0);
  }

  private launch(target: EndpointTarget, row: DeliveryRow): void {
    const key = row.order_key;
    const sending = this.deliver(target, row)
      .catch((err: unknown) => {
        this.o.logger.warn(
          { err, endpointId: this.id, deliveryId: row.id },
          'webhooks: recording a delivery attempt failed; it will be sent again',
        );
        // The window no longer holds it: read the pending deliveries again, it first of its key.
        this.window = [];
      })
      .finally(() => {
        this.inFlight.delete(key);
        this.inFlightIds.delete(row.id);
        if (this.wake) this.wake();
        else this.woken = true;
      });
    this.inFlight.set(key, sending);
    this.inFlightIds.add(row.id);
  }

  private async deliver(target: EndpointTarget, row: DeliveryRow): Promise<void> {
    const attempt: WebhookAttempt = await this.o.sender.send(target, {
      eventId: row.event_id,
      body: row.body,
    });
    const now = this.now();
    const log = {
      endpointId: this.id,
      deliveryId: row.id,
      eventId: row.event_id,
      attempt: row.attempts + 1,
      statusCode: attempt.statusCode,
    };
    if (attempt.ok) {
      this.accepted.push({ id: row.id, statusCode: attempt.statusCode ?? 200, at: now });
      this.o.onOutcome?.('delivered');
      this.o.logger.debug(log, 'webhook delivered');
      return;
    }
    const windowEnd = Date.parse(row.window_started_at) + this.o.settings.retryWindowMs;
    if (now.getTime() >= windowEnd) {
      await this.o.store.markAttemptFailed(row.id, attempt, null, now);
      this.o.onOutcome?.('failed');
      this.o.logger.warn({ ...log, error: attempt.error }, 'webhook failed: retry window over');
      return;
    }
    const next = new Date(now.getTime() + retryDelayMs(this.o.settings, row.attempts + 1));
    await this.o.store.markAttemptFailed(row.id, attempt, next, now);
    // Back in the window, in log order: its key's later deliveries wait for its retry.
    this.requeue({
      ...row,
      attempts: row.attempts + 1,
      next_attempt_at: next.toISOString(),
      last_status_code: attempt.statusCode,
      last_error: attempt.error,
    });
    this.o.onOutcome?.('retried');
    this.o.logger.info(
      { ...log, error: attempt.error, nextAttemptAt: next.toISOString() },
      'webhook attempt failed; will retry',
    );
  }

  private requeue(row: DeliveryRow): void {
    const at = this.window.findIndex((r) => BigInt(r.position) > BigInt(row.position));
    if (at < 0) this.window.push(row);
    else this.window.splice(at, 0, row);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped || this.woken || ms <= 0) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}
