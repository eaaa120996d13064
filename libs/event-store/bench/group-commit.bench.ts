/**
 * Group commit on vs off, with synchronous=FULL on the real disk. Prints figures; not a test.
 *   node -r ./test/support/swc-register.js libs/event-store/bench/group-commit.bench.ts
 * C concurrent "command handlers" each append 2 events per command to their own stream.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../src/sqlite/sqlite-event-store';
import type { NewEvent } from '../src/event-store.port';

const metadata = {
  correlationId: 'c',
  causationId: null,
  commandId: null,
  actor: null,
  channel: 'bench',
  recordedAt: '2024-01-01T00:00:00.000Z',
  schemaVersion: 1,
};
const events = (i: number): NewEvent[] => [
  {
    type: 'CancellationRequested',
    data: { i, reason: 'too-expensive', note: 'x'.repeat(120) },
    metadata,
  },
  { type: 'CancellationScheduled', data: { i, at: '2024-02-01T00:00:00.000Z' }, metadata },
];

async function run(groupCommit: boolean, concurrency: number, total: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'es-bench-'));
  const store = SqliteEventStore.open(join(dir, 'events.sqlite'), { groupCommit });
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, k) => {
      let revision = -1;
      while (next < total) {
        const i = next++;
        const r = await store.appendToStream(`sub-${k}`, events(i), {
          expectedRevision: revision < 0 ? 'no_stream' : revision,
        });
        revision = r.nextRevision;
      }
    }),
  );
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const { transactions, appends } = store.stats;
  console.log(
    `groupCommit=${String(groupCommit).padEnd(5)} concurrency=${String(concurrency).padStart(3)}: ` +
      `${Math.round((appends / ms) * 1000)} appends/s (${appends} appends of 2 events, ` +
      `${transactions} transactions, ${(appends / transactions).toFixed(1)} per transaction, ${ms.toFixed(0)} ms)`,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  for (const concurrency of [1, 8, 64]) {
    for (const groupCommit of [false, true]) await run(groupCommit, concurrency, 3000);
  }
}

void main();
