import type { EventStore } from '@app/event-store';
import {
  ReadModelProjector,
  type ReadDb,
  type ReadStore,
  type ReceiptSigner,
} from '@app/read-models';

/**
 * Projects the whole log into the read database with the live projector (as the worker does),
 * then stops it: the "live" read models the ops tests compare a replay against. With `signer`
 * (the key the ops CLI finds for the same configuration) the purge receipts are linked and signed
 * as the service's projector does (D11); without it they stay unlinked.
 */
export async function projectLive(
  log: EventStore,
  readDb: ReadDb,
  readStore: ReadStore,
  signer?: ReceiptSigner,
): Promise<void> {
  const projector = new ReadModelProjector({
    log,
    readDb,
    readStore,
    batchSize: 500,
    ...(signer ? { signer } : {}),
  });
  projector.start();
  try {
    expect(await projector.waitFor((await log.headPosition())!, 120_000)).toBe(true);
  } finally {
    await projector.stop();
  }
}
