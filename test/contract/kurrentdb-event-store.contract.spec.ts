import {
  EventStore,
  InMemoryCheckpointStore,
  isPostgresUrl,
  KurrentDbEventStore,
} from '@app/event-store';
import { ContractHarness, runEventStoreContract } from './event-store.contract';

// Skipped: no EventStoreDB server can run on these machines (no Docker); set EVENTSTORE_URL to a
// KurrentDB URL to run, e.g. EVENTSTORE_URL='kurrentdb://localhost:2113?tls=false' npx jest
// test/contract (a postgres:// EVENTSTORE_URL is the PostgreSQL log's, not this suite's).
const url = process.env.EVENTSTORE_URL ?? '';
const d = url && !isPostgresUrl(url) ? describe : describe.skip;

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
