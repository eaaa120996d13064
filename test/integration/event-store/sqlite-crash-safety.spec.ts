import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '@app/event-store';
import { useTmpDir } from '../../support/tmp-dir';
import { Ack, ChildWriter } from './child-writer';

/**
 * A writer process is SIGKILLed mid-stream (twice, on the same file). Every append it
 * acknowledged must be there afterwards, streams must have no holes, no event may be torn, and
 * the file must stay writable. SIGKILL is a process crash: the OS still flushes what the process
 * wrote. Power loss is what synchronous=FULL is for; it cannot be simulated here.
 */
describe('SQLite event store: crash safety (SIGKILL)', () => {
  const tmp = useTmpDir('es-crash-');

  async function runAndKill(dbPath: string, writerId: string): Promise<Ack[]> {
    const w = new ChildWriter(dbPath, writerId, 'forever', 4);
    try {
      await w.ready;
      w.go();
      const started = Date.now();
      while (w.acks.length < 20 && Date.now() - started < 10_000) await sleep(10);
      await sleep(700); // ~1 s after start: well into appending
    } finally {
      w.kill(); // in a finally: a 'forever' writer must never outlive the test
    }
    const { signal } = await w.exited;
    expect(signal).toBe('SIGKILL');
    expect(w.finished).toBe(false);
    expect(w.acks.length).toBeGreaterThan(20);
    return w.acks;
  }

  it('keeps every acknowledged append, with contiguous revisions and no torn events', async () => {
    const dbPath = join(tmp(), 'events.sqlite');
    const acks = [...(await runAndKill(dbPath, 'w')), ...(await runAndKill(dbPath, 'w'))];

    const db = new Database(dbPath);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();

    const store = SqliteEventStore.open(dbPath);
    const all = await store.readAll(); // every row's data and metadata parse as JSON here
    const byId = new Map(all.map((e) => [e.eventId, e]));
    const missing = acks.filter((a) => {
      const e = byId.get(a.eventId);
      return (
        !e || e.streamId !== a.stream || e.revision !== a.revision || e.position !== a.position
      );
    });
    expect(missing).toEqual([]);
    // At most one unacknowledged append per loop can have committed before the kill.
    expect(all.length - acks.length).toBeLessThanOrEqual(8);

    const torn = all.filter((e) => {
      const { payload, sha } = e.data as { payload: string; sha: string };
      return createHash('sha256').update(payload).digest('hex') !== sha;
    });
    expect(torn).toEqual([]);

    const streams = new Map<string, number[]>();
    for (const e of all) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e.revision]);
    expect(streams.size).toBe(4);
    for (const revisions of streams.values()) {
      expect(revisions).toEqual(revisions.map((_, i) => i));
    }
    for (let i = 1; i < all.length; i++) expect(all[i]!.position > all[i - 1]!.position).toBe(true);

    // Still writable after two crashes.
    const [anyStream] = streams.keys();
    await store.appendToStream(
      anyStream!,
      [{ type: 'After', data: {}, metadata: all[0]!.metadata }],
      {
        expectedRevision: streams.get(anyStream!)!.length - 1,
      },
    );
    await store.close();
  }, 30_000);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
