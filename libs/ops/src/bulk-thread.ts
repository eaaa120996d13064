// The file itself, not @app/platform's index: a fold thread loads this module and must load little
// (read-model-bulk-fold.spec.ts).
import { startModuleWorker } from '../../platform/src/process/module-worker';
import { BulkBuildUnsupportedError } from './bulk-build-unsupported.error';
import type { FoldPartitionOptions } from './read-model-bulk-fold';
import type { UpcasterModule } from './upcaster-module';

/** The work of one thread of the replay's bulk build (bulk-build.worker.ts runs it). */
export type BulkJob = {
  job: 'fold';
  options: FoldPartitionOptions;
  upcasters: UpcasterModule | null;
};

/** What a thread posts: its progress, then its result or its error. */
export type BulkMessage =
  | { events: number; position: number }
  | { result: unknown }
  | { error: { name: string; message: string; stack?: string | undefined } };

/** A worker thread of the bulk build (a fold partition). */
export interface BulkThread<R> {
  /** The thread's result; settled once the thread has exited (its SQLite files closed). */
  done: Promise<R>;
  /** Throws the thread's error, if it failed. */
  check(): void;
  stop(): Promise<void>;
  /** Events done and the position reached so far. */
  progress(): { events: number; position: number };
  /** Whether the thread has posted its result. */
  finished(): boolean;
}

/**
 * Runs a job in a worker thread. An error the thread reports ends it; `done` resolves with the
 * result once the thread has exited cleanly, and rejects otherwise; it is never an unhandled
 * rejection (read it through `check()` or `done`).
 */
export function startBulkThread<R>(name: string, job: BulkJob): BulkThread<R> {
  const worker = startModuleWorker(__filename, 'bulk-build.worker', { workerData: job });
  let failure: Error | null = null;
  let result: R | undefined;
  let exited = false;
  let progress = { events: 0, position: 0 };
  const done = new Promise<R>((resolvePromise, reject) => {
    worker.on('message', (message: BulkMessage) => {
      if ('error' in message) {
        const e = message.error;
        failure ??=
          e.name === 'BulkBuildUnsupportedError'
            ? new BulkBuildUnsupportedError(e.message)
            : Object.assign(new Error(e.message), { name: e.name });
        if (e.stack) failure.stack = e.stack;
        void worker.terminate();
      } else if ('result' in message) result = message.result as R;
      else progress = message;
    });
    worker.on('error', (error) => {
      failure ??= error;
    });
    worker.on('exit', (code) => {
      exited = true;
      if (result !== undefined && code === 0 && !failure) return resolvePromise(result);
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
    progress: () => progress,
    finished: () => result !== undefined,
  };
}
