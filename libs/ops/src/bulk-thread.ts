import { Worker } from 'node:worker_threads';

/** A worker thread of the replay's bulk build (the audit copy, a fold partition). */
export interface BulkThread<R> {
  /** The thread's result; settled once the thread has exited (its SQLite files closed). */
  done: Promise<R>;
  /** Throws the thread's error, if it failed. */
  check(): void;
  stop(): Promise<void>;
}

/**
 * Runs `source` (plain JavaScript, so that it runs the same from sources and from a build) in a
 * worker thread. Each message it posts goes to `take`, which keeps what it reports (progress),
 * returns the thread's result when the message carries it, and throws an error the thread
 * reported (the thread is then terminated). `done` resolves with the result once the thread
 * has exited cleanly, and rejects otherwise; it is never an unhandled rejection (read it
 * through `check()` or `done`).
 */
export function startBulkThread<R>(
  name: string,
  source: string,
  workerData: unknown,
  take: (message: unknown) => R | undefined,
): BulkThread<R> {
  const worker = new Worker(source, { eval: true, workerData });
  let failure: Error | null = null;
  let result: R | undefined;
  let exited = false;
  const done = new Promise<R>((resolve, reject) => {
    worker.on('message', (message: unknown) => {
      try {
        const r = take(message);
        if (r !== undefined) result = r;
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
        void worker.terminate();
      }
    });
    worker.on('error', (error) => {
      failure ??= error;
    });
    worker.on('exit', (code) => {
      exited = true;
      if (result !== undefined && code === 0 && !failure) return resolve(result);
      failure ??= new Error(`${name} stopped (exit code ${code})`);
      reject(failure);
    });
  });
  done.catch(() => undefined);
  return {
    done,
    check() {
      if (failure) throw failure;
    },
    async stop() {
      if (!exited) await worker.terminate();
    },
  };
}
