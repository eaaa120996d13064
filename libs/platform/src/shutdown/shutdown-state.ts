import type { Logger } from 'pino';

/**
 * Whether this process is shutting down, shared by the parts that must know: readiness answers
 * 503 from the moment SIGTERM/SIGINT arrives, and start-up work waiting on a dependency (the
 * lifecycle's Redis checks) stops waiting through `signal`. One per process: main.ts creates it
 * and hands it to the app (InfrastructureModule provides it); tests get a fresh one per app.
 */
export class ShutdownState {
  private readonly controller = new AbortController();
  private received: string | null = null;

  /** True from the first shutdown signal on. */
  get shuttingDown(): boolean {
    return this.controller.signal.aborted;
  }

  /** The signal (or reason) that began the shutdown; null before. */
  get reason(): string | null {
    return this.received;
  }

  /** Aborted when the shutdown begins. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Marks the process as shutting down (idempotent). */
  begin(reason: string): void {
    if (this.shuttingDown) return;
    this.received = reason;
    this.controller.abort(new ShutdownInProgressError(reason));
  }
}

/** What a wait cut short by the shutdown rejects with. */
export class ShutdownInProgressError extends Error {
  constructor(readonly reason: string) {
    super(`Interrupted by the shutdown (${reason}).`);
    this.name = 'ShutdownInProgressError';
  }
}

export interface ShutdownOnSignalsOptions {
  state: ShutdownState;
  /**
   * SHUTDOWN_DRAIN_MS: after the signal, how long the process keeps serving normally while
   * readiness answers 503, so that load balancers (Kubernetes endpoints) stop routing to it
   * before it closes its port. 0: close at once.
   */
  drainMs: number;
  logger: Logger;
  /**
   * Closes the application: stop taking work, close the port (requests in flight finish), run
   * the shutdown hooks. Called once, after the drain.
   */
  close: () => Promise<void>;
  signals?: readonly NodeJS.Signals[];
  /** Default process.exit: pino's asynchronous destination flushes its last lines on 'exit'. */
  exit?: (code: number) => void;
}

/**
 * The shutdown of an api or worker process on SIGTERM/SIGINT: readiness fails at once
 * (`state.begin`), the process drains for `drainMs`, then closes and exits 0 (1 if closing
 * failed). A second signal during the shutdown exits at once (code 1). Used instead of
 * Nest's enableShutdownHooks, whose handler makes the HTTP adapter answer every request with 503
 * from the first moment (no drain) and re-raises the signal (the process ends by a signal, not
 * with exit code 0). Returns a function that removes the listeners.
 */
export function shutdownOnSignals(o: ShutdownOnSignalsOptions): () => void {
  const signals = o.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = o.exit ?? ((code: number) => process.exit(code));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (o.state.shuttingDown) {
      // A person pressing Ctrl+C again, or an orchestrator that gave up waiting: the shutdown
      // may wait without bound (a replay's switch-over). Exit now; everything the process writes
      // is crash-safe (the log, the read models, the queues), and what was in hand is redone.
      o.logger.warn({ signal }, 'second signal during the shutdown: exiting now');
      exit(1);
      return;
    }
    o.state.begin(signal);
    o.logger.info(
      { signal, drainMs: o.drainMs },
      o.drainMs > 0
        ? `shutting down: not ready from now on, still serving for SHUTDOWN_DRAIN_MS (${o.drainMs} ms), then closing`
        : 'shutting down: not ready from now on, closing',
    );
    void (async () => {
      try {
        if (o.drainMs > 0) await new Promise((r) => setTimeout(r, o.drainMs));
        await o.close();
        o.logger.info({ signal }, 'shutdown complete');
        exit(0);
      } catch (error) {
        o.logger.error({ err: error, signal }, 'shutdown failed');
        exit(1);
      }
    })();
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
