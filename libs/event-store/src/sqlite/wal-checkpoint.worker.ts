import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/**
 * The thread of WalCheckpointer (wal-checkpointer.ts): one connection per file, a PASSIVE
 * checkpoint of each every `intervalMs`. PASSIVE never waits for a lock and never blocks readers
 * or writers: it copies back what no reader still needs.
 */
export type CheckpointRequest =
  | { op: 'add'; file: string }
  | { op: 'remove'; file: string; reply?: MessagePort }
  | { op: 'exit' };

const { intervalMs } = workerData as { intervalMs: number };
const files = new Map<string, { db: Database.Database; refs: number }>();

const checkpoint = (db: Database.Database): void => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // SQLITE_BUSY: another connection is checkpointing; the next tick tries again.
  }
};

const close = (file: string): void => {
  const entry = files.get(file);
  if (!entry) return;
  checkpoint(entry.db);
  entry.db.close();
  files.delete(file);
};

const timer = setInterval(() => {
  for (const entry of files.values()) checkpoint(entry.db);
}, intervalMs);

parentPort!.on('message', (m: CheckpointRequest) => {
  if (m.op === 'add') {
    const entry = files.get(m.file);
    if (entry) entry.refs++;
    else {
      try {
        const db = new Database(m.file, { fileMustExist: true });
        db.pragma('busy_timeout = 0');
        db.pragma('wal_autocheckpoint = 0');
        files.set(m.file, { db, refs: 1 });
      } catch {
        // Not checkpointed from here; SQLite still checkpoints on close and on the next open.
      }
    }
  } else if (m.op === 'remove') {
    const entry = files.get(m.file);
    if (entry && --entry.refs === 0) close(m.file);
    if (m.reply) {
      m.reply.postMessage('closed');
      m.reply.close();
    }
  } else {
    clearInterval(timer);
    for (const file of [...files.keys()]) close(file);
    parentPort!.close();
  }
});
