/**
 * Child process for bench:replay: stands in for the live projector while a replay runs. Every
 * 20 ms it commits one small row into a table of its own in the read database's file (the write
 * lock is the file's, whatever the table: the lock every writer of the read models takes first)
 * and measures how long it waited for the lock. On SIGTERM it prints one JSON line: the number of writes, how many waited over 250 ms, the wait's
 * p50, p99 and maximum in ms, and when the longest wait happened (ms since the replay made its
 * generation).
 *
 * argv: <DATA_DIR>. Prints `ready` once loaded (the bench starts the replay then: a live
 * projector is already running when an operator replays, so the probe's own start-up must not
 * take CPU from the replay). Starts writing once the replay has made its new generation
 * (DATA_DIR/read-models/<generation>): by then the replay has opened and migrated the live read
 * database (a connection opened before could hinder its switch to WAL).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { percentile } from './percentile';

const dataDir = process.argv[2] ?? '';
if (!dataDir) throw new Error('usage: live-writer-probe <DATA_DIR>');
const file = join(dataDir, 'read-models.sqlite');
const shadowMade = (): boolean => {
  try {
    return readdirSync(join(dataDir, 'read-models')).length > 0;
  } catch {
    return false; // not yet
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const waits: number[] = [];
  let worst = { ms: 0, at: 0 };
  let stopping = false;
  process.on('SIGTERM', () => (stopping = true));
  process.stdout.write('ready\n');
  while (!stopping && !shadowMade()) await sleep(20);
  const started = performance.now();
  const db = stopping ? null : new Database(file);
  if (db) {
    // An hour, not the live store's few seconds: this measures the wait, it must not give up.
    db.pragma('busy_timeout = 3600000');
    db.exec('CREATE TABLE IF NOT EXISTS bench_live_writer (at REAL NOT NULL)');
    const insert = db.prepare('INSERT INTO bench_live_writer (at) VALUES (?)');
    const write = db.transaction((at: number) => insert.run(at));
    while (!stopping) {
      const t = performance.now();
      write.immediate(t);
      const ms = performance.now() - t;
      waits.push(ms);
      if (ms > worst.ms) worst = { ms, at: t - started };
      await sleep(20);
    }
    db.close();
  }
  waits.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({ writes: waits.length, over250: waits.filter((w) => w > 250).length, p50: percentile(waits, 0.5), p99: percentile(waits, 0.99), max: worst.ms, maxAtMs: worst.at })}\n`,
  );
}

void main();
