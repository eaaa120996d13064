import { InMemoryCheckpointStore, KurrentDbEventStore, EventStore } from '@app/event-store';
import { ContractHarness, runEventStoreContract } from './event-store.contract';

// Skipped: no EventStoreDB server can run on these machines (no Docker); set EVENTSTORE_URL to
// run, e.g. EVENTSTORE_URL='kurrentdb://localhost:2113?tls=false' npx jest test/contract
const d = process.env.EVENTSTORE_URL ? describe : describe.skip;
const url = process.env.EVENTSTORE_URL ?? '';

d('KurrentDB adapter', () => {
  runEventStoreContract('KurrentDB', async (): Promise<ContractHarness> => {
    const opened: EventStore[] = [];
    const open = (): KurrentDbEventStore => {
      // A separate client per "connection", like another process would have.
      const s = KurrentDbEventStore.connect(url, { pollIntervalMs: 100 });
      opened.push(s);
      return s;
    };
    const store = open();
    return {
      store,
      openAnother: async () => open(),
      // The checkpoint store is not what this suite tests against KurrentDB.
      checkpoints: new InMemoryCheckpointStore(),
      dispose: async () => {
        for (const s of opened) await s.close();
      },
    };
  });
});
