import { EventEmitter } from 'node:events';

/**
 * Wakes in-process waiters the moment an append commits, so a catch-up subscription in the same
 * process as the writer reacts at once instead of at the next poll. Appends made by other
 * processes are only seen by polling (see waitForHead).
 */
export class AppendNotifier {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every waiting subscription adds one listener; there is no leak to warn about.
    this.emitter.setMaxListeners(0);
  }

  notify(position: bigint): void {
    this.emitter.emit('append', position);
  }

  /** Returns the unsubscribe function. */
  onAppend(listener: (position: bigint) => void): () => void {
    this.emitter.on('append', listener);
    return () => this.emitter.off('append', listener);
  }
}

const byKey = new Map<string, { notifier: AppendNotifier; users: number }>();

/**
 * One notifier per log (a resolved SQLite path, a KurrentDB URL), shared by every adapter instance
 * in this process, so two connections to the same file still wake each other without polling.
 */
export function acquireNotifier(key: string): { notifier: AppendNotifier; release: () => void } {
  let entry = byKey.get(key);
  if (!entry) {
    entry = { notifier: new AppendNotifier(), users: 0 };
    byKey.set(key, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    notifier: held.notifier,
    release: () => {
      if (released) return;
      released = true;
      held.users--;
      if (held.users === 0 && byKey.get(key) === held) byKey.delete(key);
    },
  };
}

export interface WaitForHeadOptions {
  notifier: AppendNotifier;
  /** Reads the log's current head (null = empty log). */
  readHead: () => Promise<bigint | null> | bigint | null;
  after: bigint | null;
  timeoutMs: number;
  pollIntervalMs: number;
  signal?: AbortSignal;
}

/**
 * Resolves as soon as the head is past `after` (local notification or poll), or on timeout or
 * abort. Never rejects on timeout/abort: the caller just re-reads, which is always safe.
 */
export function waitForHead(o: WaitForHeadOptions): Promise<void> {
  const isPast = (head: bigint | null): boolean =>
    head !== null && (o.after === null || head > o.after);

  return new Promise<void>((resolve, reject) => {
    let done = false;
    let polling = false;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(poller);
      unsubscribe();
      o.signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else
        reject(
          err instanceof Error
            ? err
            : new Error('waitForAppend: reading the head failed', { cause: err }),
        );
    };
    const onAbort = (): void => finish();
    const check = async (): Promise<void> => {
      if (done || polling) return;
      polling = true;
      try {
        if (isPast(await o.readHead())) finish();
      } catch (err) {
        finish(err);
      } finally {
        polling = false;
      }
    };

    const unsubscribe = o.notifier.onAppend((p) => {
      if (o.after === null || p > o.after) finish();
    });
    const timer = setTimeout(() => finish(), Math.max(0, o.timeoutMs));
    const poller = setInterval(() => void check(), o.pollIntervalMs);
    if (o.signal?.aborted) return finish();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    // Covers appends that committed before we started listening.
    void check();
  });
}
