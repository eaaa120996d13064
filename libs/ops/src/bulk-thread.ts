import { extname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
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
 * The worker module, and from TypeScript sources the hook that compiles it in the new thread (a
 * build runs the compiled JavaScript beside this file).
 */
function workerSource(): { file: string; hook: string | null } {
  const ext = extname(__filename);
  const file = join(__dirname, `bulk-build.worker${ext}`);
  if (ext !== '.ts') return { file, hook: null };
  return { file, hook: resolve(__dirname, '..', '..', '..', 'test', 'support', 'swc-register.js') };
}

/**
 * Runs a job in a worker thread. An error the thread reports ends it; `done` resolves with the
 * result once the thread has exited cleanly, and rejects otherwise; it is never an unhandled
 * rejection (read it through `check()` or `done`).
 */
export function startBulkThread<R>(name: string, job: BulkJob): BulkThread<R> {
  const { file, hook } = workerSource();
  const worker = hook
    ? new Worker(`require(${JSON.stringify(hook)}); require(${JSON.stringify(file)});`, {
        eval: true,
        workerData: job,
      })
    : new Worker(file, { workerData: job });
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
