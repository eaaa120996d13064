import { InMemoryCheckpointStore, KurrentDbEventStore, EventStore } from '@app/event-store';
import { ContractHarness, runEventStoreContract } from './event-store.contract';
import { SimulatedKurrentLog } from './simulated-kurrentdb-client';

/**
 * The KurrentDB adapter's own logic (paging $all with an inclusive fromPosition, dropping system
 * events, mapping conflicts and missing streams, positions) under the full contract, over an
 * in-memory stand-in for the client. This is not a KurrentDB test: the real server is exercised
 * only by kurrentdb-event-store.contract.spec.ts when EVENTSTORE_URL is set.
 */
let n = 0;
runEventStoreContract('KurrentDB adapter over a simulated client (not a server)', async (): Promise<ContractHarness> => {
  const log = new SimulatedKurrentLog();
  const key = `simulated-${n++}`;
  const opened: EventStore[] = [];
  const open = (): KurrentDbEventStore => {
    // Small pages so paging across system events is exercised.
    const s = new KurrentDbEventStore(log.client(), key, { pollIntervalMs: 20, readAllPageSize: 7 });
    opened.push(s);
    return s;
  };
  const store = open();
  return {
    store,
    openAnother: async () => open(),
    checkpoints: new InMemoryCheckpointStore(),
    dispose: async () => {
      for (const s of opened) await s.close();
    },
  };
});
