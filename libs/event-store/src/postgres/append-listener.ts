import type { Client, Notification } from 'pg';
import { dedicatedClient } from './postgres-connection';

export interface AppendListenerOptions {
  connectionString: string;
  channel: string;
  /** A NOTIFY arrived: the position its append committed at. */
  onPosition: (position: bigint) => void;
  /**
   * LISTEN is (again) in place. Appends committed before that sent nothing we could hear: the
   * owner re-reads the head so that no waiter misses them.
   */
  onListening: () => void;
  /** First reconnect delay, doubled on each failure up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export const LISTENER_APPLICATION_NAME = 'event-store-listener';

/**
 * One dedicated LISTEN connection (outside the pool) per store, opened on demand. When it is lost
 * (server restart, idle connection killed), it reconnects with exponential backoff; meanwhile the
 * store's slow poll is what wakes waiters.
 */
export class AppendListener {
  private client: Client | null = null;
  private connecting: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;
  /** Successful LISTENs so far (the first one plus every reconnection). */
  connections = 0;

  constructor(private readonly o: AppendListenerOptions) {}

  get listening(): boolean {
    return this.client !== null;
  }

  /** Connects unless already connected, connecting, waiting to retry, or stopped. */
  start(): void {
    if (this.stopped || this.client || this.connecting || this.timer) return;
    this.connecting = this.connect().finally(() => (this.connecting = null));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.connecting;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = dedicatedClient(this.o.connectionString, LISTENER_APPLICATION_NAME);
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (n: Notification) => {
      if (n.channel !== this.o.channel || !n.payload) return;
      let position: bigint;
      try {
        position = BigInt(n.payload);
      } catch {
        return; // not ours (someone else's NOTIFY on the channel)
      }
      this.o.onPosition(position);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.o.channel}"`);
    } catch {
      await client.end().catch(() => undefined);
      this.retry();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.failures = 0;
    this.connections++;
    this.o.onListening();
  }

  private lost(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    void client.end().catch(() => undefined);
    this.retry();
  }

  private retry(): void {
    if (this.stopped || this.timer) return;
    const min = this.o.minBackoffMs ?? 250;
    const max = this.o.maxBackoffMs ?? 10_000;
    const delay = Math.min(max, min * 2 ** Math.min(this.failures, 16));
    this.failures++;
    // Jitter: processes that lost the server together do not all come back in the same instant.
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.start();
      },
      delay * (0.75 + Math.random() * 0.5),
    );
    this.timer.unref();
  }
}
