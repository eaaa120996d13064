import type { Logger } from 'pino';
import { retryDelayMs, type WebhookSettings } from './webhook-settings';
import type { WebhookAttempt, WebhookSender } from '@app/read-models';
import type { AcceptedDelivery, DeliveryRow, EndpointTarget, WebhookStore } from './webhook-store';

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

/** How many deliveries that may go (the first of their key, due) one read brings. */
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

  /** Starts a loop for each endpoint that has none, stops those of deleted endpoints. */
  private async refresh(): Promise<void> {
    const ids = await this.o.store.endpointIds();
    const listed = new Set(ids);
    for (const [id, loop] of this.loops) if (!listed.has(id)) void loop.stop();
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
 * What may go is read from the database: the first pending delivery of each key, when due
 * (WebhookStore.sendable), so a key waiting for a retry holds back its own later deliveries and
 * no other key's. The loop keeps such a page in memory and reads again when nothing of it can go
 * (a send finished, the poll interval passed, deliveries were made). This process alone
 * dispatches the endpoint (the lease). Deliveries are made from the integration events every
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
  /** Deliveries that may go (the first of their key, due), not in flight, in log order. */
  private page: DeliveryRow[] = [];
  private pageReadAt = 0;
  /** A send finished since the page was read: its key's next delivery may now go. */
  private finishedSinceRead = false;
  /** Sends that finished while a page was being read: that page may show them as they were. */
  private finishedDuringRead: Set<string> | null = null;
  private materializedAt = 0;
  private behind = true;
  /** Accepted by the receiver, not yet recorded (RECORD_BATCH)… */
  private accepted: AcceptedDelivery[] = [];
  /** …and their ids until the record commits: still pending in the database, never sent again. */
  private readonly unrecorded = new Set<string>();

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
    for (const { id } of batch) this.unrecorded.delete(id);
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
      if (looked > 0) this.pageReadAt = 0;
    }
    this.target ??= await this.o.store.target(this.id);
    if (!this.target) return -1;
    const room = this.o.settings.concurrency - this.inFlight.size;
    if (room <= 0) return this.behind ? 0 : poll;
    let launched = this.launchFromPage(room);
    if (
      launched < room &&
      (this.finishedSinceRead || clock - this.pageReadAt >= poll || this.page.length === 0)
    ) {
      await this.readPage(clock);
      launched += this.launchFromPage(room - launched);
    }
    return this.behind ? 0 : poll;
  }

  /** Reads what may go now; the accepted ones are recorded first, so their keys move on. */
  private async readPage(clock: number): Promise<void> {
    await this.record();
    this.finishedSinceRead = false;
    const finished = new Set<string>();
    this.finishedDuringRead = finished;
    let rows: DeliveryRow[];
    try {
      rows = await this.o.store.sendable(this.id, this.now(), PENDING_WINDOW);
    } finally {
      this.finishedDuringRead = null;
    }
    this.page = rows.filter(
      (r) => !this.inFlightIds.has(r.id) && !this.unrecorded.has(r.id) && !finished.has(r.id),
    );
    this.pageReadAt = clock;
    // A send that finished during the read may have left its key's next delivery out of it.
    if (finished.size > 0) this.finishedSinceRead = true;
  }

  private launchFromPage(room: number): number {
    if (room <= 0 || !this.target || this.page.length === 0) return 0;
    const launched = new Set<DeliveryRow>();
    for (const row of this.page) {
      if (launched.size >= room) break;
      if (this.inFlight.has(row.order_key)) continue;
      launched.add(row);
      this.launch(this.target, row);
    }
    if (launched.size > 0) this.page = this.page.filter((r) => !launched.has(r));
    return launched.size;
  }

  private launch(target: EndpointTarget, row: DeliveryRow): void {
    const key = row.order_key;
    const sending = this.deliver(target, row)
      .catch((err: unknown) =>
        this.o.logger.warn(
          { err, endpointId: this.id, deliveryId: row.id },
          'webhooks: recording a delivery attempt failed; it will be sent again',
        ),
      )
      .finally(() => {
        this.inFlight.delete(key);
        this.inFlightIds.delete(row.id);
        this.finishedDuringRead?.add(row.id);
        this.finishedSinceRead = true;
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
      this.accepted.push({
        id: row.id,
        statusCode: attempt.statusCode ?? 200,
        at: now,
        version: row.updated_at,
      });
      this.unrecorded.add(row.id);
      this.o.onOutcome?.('delivered');
      this.o.logger.debug(log, 'webhook delivered');
      return;
    }
    const windowEnd = Date.parse(row.window_started_at) + this.o.settings.retryWindowMs;
    if (now.getTime() >= windowEnd) {
      await this.o.store.markAttemptFailed(row, attempt, null, now);
      this.o.onOutcome?.('failed');
      this.o.logger.warn({ ...log, error: attempt.error }, 'webhook failed: retry window over');
      return;
    }
    const next = new Date(now.getTime() + retryDelayMs(this.o.settings, row.attempts + 1));
    // Pending, due later: until then it holds back its key's later deliveries (sendable).
    await this.o.store.markAttemptFailed(row, attempt, next, now);
    this.o.onOutcome?.('retried');
    this.o.logger.info(
      { ...log, error: attempt.error, nextAttemptAt: next.toISOString() },
      'webhook attempt failed; will retry',
    );
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped || this.woken || ms <= 0) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
