import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { startModuleWorker } from '@app/platform';
import type { CheckpointRequest } from './wal-checkpoint.worker';

const INTERVAL_MS = 250;
/** How long stop() waits for the thread to confirm it closed the file (a dead thread never will). */
const STOP_CONFIRM_MS = 2_000;

/**
 * The one checkpoint thread of this process, shared by every file, ended when the last user
 * releases it. Requests are one-way messages and nothing of this module listens to the thread:
 * a running thread then keeps nothing of the code that started it alive (a listener would, and
 * with it every object a forgotten store still references).
 */
class CheckpointThread {
  private static current: CheckpointThread | null = null;
  private readonly worker: Worker;
  private users = 0;

  static acquire(): CheckpointThread {
    const thread = (CheckpointThread.current ??= new CheckpointThread());
    thread.users++;
    return thread;
  }

  private constructor() {
    this.worker = startModuleWorker(__filename, 'wal-checkpoint.worker', {
      workerData: { intervalMs: INTERVAL_MS },
    });
    // Never what keeps a process alive. An error in the thread only costs background
    // checkpoints (SQLite still checkpoints on close and on the next open); the no-op listener
    // is a built-in function so that it holds on to nothing of this module.
    this.worker.unref();
    this.worker.on('error', Function.prototype as () => void);
  }

  private post(request: CheckpointRequest, transfer: MessagePort[] = []): void {
    this.worker.postMessage(request, transfer);
  }

  add(file: string): void {
    this.post({ op: 'add', file });
  }

  /**
   * Resolves once the thread has closed its connection to the file (or after STOP_CONFIRM_MS).
   * The answer comes on a channel of this request alone, closed with it, so no listener outlives
   * the request.
   */
  remove(file: string): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        port1.close();
        resolve();
      };
      // Both stay referenced: a process shutting down waits for the answer (bounded by the timer)
      // instead of exiting in the middle of the caller's close sequence.
      const timer = setTimeout(done, STOP_CONFIRM_MS);
      port1.once('message', done);
      this.post({ op: 'remove', file, reply: port2 }, [port2]);
    });
  }

  /** One user fewer; the last one ends the thread (after it closed its connections). */
  release(): void {
    if (--this.users > 0) return;
    if (CheckpointThread.current === this) CheckpointThread.current = null;
    this.post({ op: 'exit' });
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
  private stopping: Promise<void> | null = null;

  constructor(private readonly file: string) {
    this.thread.add(file);
  }

  /**
   * Stops checkpointing the file; resolves once the thread has run a last checkpoint and closed
   * its connection, so the file can be deleted or renamed right after (a caller that removed the
   * directory at once used to race the thread's open handle).
   */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = this.thread.remove(this.file);
      this.thread.release();
    }
    return this.stopping;
  }
}
