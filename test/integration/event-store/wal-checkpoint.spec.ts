import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '@app/event-store';
import { useTmpDir } from '../../support/tmp-dir';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const size = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/**
 * WAL checkpoints happen in a thread of the store's own (WalCheckpointer), not inside commits
 * on the event loop. In WAL mode only a checkpoint writes pages into the main file, so the main
 * file growing while the writer's automatic checkpoint is off shows the thread at work.
 */
describe('SQLite event store: background WAL checkpoints', () => {
  const tmp = useTmpDir('es-wal-');
  const data = { note: 'x'.repeat(400) };
  const meta = {
    correlationId: 'c',
    causationId: null,
    commandId: null,
    actor: null,
    channel: 'system',
    recordedAt: '2026-11-26T00:00:00.000Z',
    schemaVersion: 1,
  };

  async function appendMany(store: SqliteEventStore, streams: number): Promise<void> {
    for (let i = 0; i < streams; i += 200)
      await Promise.all(
        Array.from({ length: Math.min(200, streams - i) }, (_, k) =>
          store.appendToStream(`s-${i + k}`, [{ type: 'E', data, metadata: meta }], {
            expectedRevision: 'no_stream',
          }),
        ),
      );
  }

  it('copies the WAL into the main file from its thread while the writer never checkpoints in a commit', async () => {
    const file = join(tmp(), 'events.sqlite');
    const store = SqliteEventStore.open(file);
    const writer = (store as unknown as { db: Database.Database }).db;
    expect(writer.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = size(file);
    // A reader that keeps a connection busy, as the projector and scheduler of another process do.
    const reader = new Database(file, { readonly: true });
    const count = reader.prepare('SELECT COUNT(*) FROM events').pluck();
    let reading = true;
    const reads = (async () => {
      while (reading) {
        count.get();
        await sleep(1);
      }
    })();
    await appendMany(store, 5000);
    reading = false;
    await reads;
    reader.close();
    const deadline = Date.now() + 5000;
    while (size(file) < before + 1_000_000 && Date.now() < deadline) await sleep(50);
    expect(size(file)).toBeGreaterThan(before + 1_000_000);
    await store.close();

    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(5000);
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
  });

  it("with checkpoint 'commit' SQLite's automatic checkpoint stays on", async () => {
    const store = SqliteEventStore.open(join(tmp(), 'auto.sqlite'), { checkpoint: 'commit' });
    const writer = (store as unknown as { db: Database.Database }).db;
    expect(writer.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await appendMany(store, 10);
    await store.close();
  });
});
