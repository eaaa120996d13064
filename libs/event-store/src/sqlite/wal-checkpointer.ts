import { Worker } from 'node:worker_threads';

const INTERVAL_MS = 250;

/**
 * Runs in the thread (plain CommonJS, so no build or test transform is involved): one connection
 * per file, a PASSIVE checkpoint of each every INTERVAL_MS. PASSIVE never waits for a lock and
 * never blocks readers or writers: it copies back what no reader still needs.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const files = new Map();
let timer = null;
const checkpoint = (db) => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // SQLITE_BUSY: another connection is checkpointing; the next tick tries again.
  }
};
const run = () => {
  for (const entry of files.values()) checkpoint(entry.db);
};
parentPort.on('message', (m) => {
  let ok = true;
  if (m.op === 'add') {
    let entry = files.get(m.file);
    if (!entry) {
      try {
        const db = new Database(m.file, { fileMustExist: true });
        db.pragma('busy_timeout = 0');
        db.pragma('wal_autocheckpoint = 0');
        entry = { db, refs: 0 };
        files.set(m.file, entry);
      } catch {
        ok = false;
      }
    }
    if (entry) entry.refs++;
  } else if (m.op === 'remove') {
    const entry = files.get(m.file);
    if (entry && --entry.refs === 0) {
      checkpoint(entry.db);
      entry.db.close();
      files.delete(m.file);
    }
  }
  if (files.size > 0 && timer === null) timer = setInterval(run, workerData.intervalMs);
  if (files.size === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
  parentPort.postMessage({ id: m.id, ok });
});
`;

/** The one checkpoint thread of this process, shared by every file; gone when none is left. */
class CheckpointThread {
  private static current: CheckpointThread | null = null;
  private readonly worker: Worker;
  private readonly waiting = new Map<number, () => void>();
  private nextId = 0;
  private users = 0;

  static acquire(): CheckpointThread {
    const thread = (CheckpointThread.current ??= new CheckpointThread());
    thread.users++;
    return thread;
  }

  private constructor() {
    this.worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), intervalMs: INTERVAL_MS },
    });
    // Never what keeps a process alive (held only while an answer is awaited). An error in the
    // thread only costs background checkpoints: SQLite still checkpoints on close and next open.
    this.worker.unref();
    this.worker.on('message', (m: { id: number }) => {
      this.waiting.get(m.id)?.();
    });
    this.worker.on('error', () => this.settleAll());
    this.worker.on('exit', () => {
      if (CheckpointThread.current === this) CheckpointThread.current = null;
      this.settleAll();
    });
  }

  /** Sends one request; resolves on its answer, or after 5 s, or when the thread is gone. */
  send(op: 'add' | 'remove', file: string): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, 5000);
      function done(this: void): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiting.set(id, () => {
        this.waiting.delete(id);
        if (this.waiting.size === 0) this.worker.unref();
        done();
      });
      this.worker.ref();
      this.worker.postMessage({ op, file, id });
    });
  }

  /** One user fewer; the last one ends the thread. */
  async release(): Promise<void> {
    if (--this.users > 0) return;
    if (CheckpointThread.current === this) CheckpointThread.current = null;
    await this.worker.terminate();
  }

  private settleAll(): void {
    for (const settle of [...this.waiting.values()]) settle();
  }
}

/**
 * Checkpoints a WAL-mode SQLite file from a thread (one per process, shared by every file).
 *
 * SQLite's automatic checkpoint runs inside the COMMIT of whichever transaction pushes the WAL
 * past 1,000 pages, on the committing thread; and while other processes keep reading (the
 * projector, the scheduler), the WAL cannot be restarted, so it stays over the limit and every
 * commit checkpoints again. On the API's event loop that was the largest single cost of a
 * command (a fifth of it under load). The writer turns its automatic checkpoint off and the
 * thread copies the WAL back a few times a second instead, off the event loop (the pattern the
 * SQLite documentation suggests for wal_autocheckpoint = 0).
 */
export class WalCheckpointer {
  private readonly thread = CheckpointThread.acquire();
  private readonly added: Promise<void>;
  private stopped: Promise<void> | null = null;

  constructor(private readonly file: string) {
    this.added = this.thread.send('add', file);
  }

  /** Runs a last checkpoint of the file and stops checkpointing it. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.added;
      await this.thread.send('remove', this.file);
      await this.thread.release();
    })();
    return this.stopped;
  }
}
