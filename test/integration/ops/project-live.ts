import type { EventStore } from '@app/event-store';
import { ReadModelProjector, type ReadDb, type ReadStore } from '@app/read-models';

/**
 * Projects the whole log into the read database with the live projector (as the worker does),
 * then stops it: the "live" read models the ops tests compare a replay against.
 */
export async function projectLive(
  log: EventStore,
  readDb: ReadDb,
  readStore: ReadStore,
): Promise<void> {
  const projector = new ReadModelProjector({ log, readDb, readStore, batchSize: 500 });
  projector.start();
  try {
    expect(await projector.waitFor((await log.headPosition())!, 120_000)).toBe(true);
  } finally {
    await projector.stop();
  }
}
