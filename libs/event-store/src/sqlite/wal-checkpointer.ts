import { Worker } from 'node:worker_threads';

export interface WalCheckpointerOptions {
  /** How often the thread runs a PASSIVE checkpoint (default 250 ms). */
  intervalMs?: number;
}

/**
 * Runs in the thread (plain CommonJS, so no build or test transform is involved). PASSIVE never
 * waits for a lock and never blocks readers or writers: it copies what no reader still needs.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
db.pragma('wal_autocheckpoint = 0');
const run = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // SQLITE_BUSY: another connection is checkpointing; the next tick tries again.
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  run();
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints a WAL-mode SQLite file from a thread of its own.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT of whichever transaction pushes the WAL
 * past 1,000 pages, on the committing thread; and while other processes keep reading (the
 * projector, the scheduler), the WAL cannot be restarted, so it stays over the limit and every
 * commit checkpoints again. On the API's event loop that was the largest single cost of a
 * command (a fifth of it under load). The writer turns its automatic checkpoint off and this
 * thread copies the WAL back a few times a second instead, off the event loop (the pattern the
 * SQLite documentation suggests for wal_autocheckpoint = 0).
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private stopped: Promise<void> | null = null;

  constructor(file: string, options: WalCheckpointerOptions = {}) {
    this.worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: {
        file,
        driver: require.resolve('better-sqlite3'),
        intervalMs: options.intervalMs ?? 250,
      },
    });
    // Never what keeps a process alive; an error in the thread only costs background checkpoints
    // (SQLite still checkpoints on close and on the next open).
    this.worker.unref();
    this.worker.on('error', () => undefined);
  }

  /** Runs a last checkpoint and ends the thread. */
  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().finally(resolve), 5000);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.postMessage('stop');
    });
    return this.stopped;
  }
}
