import { EventStore, InMemoryCheckpointStore, PostgresEventStore } from '@app/event-store';
import { dropSchemas, eventLogUrl, freshSchema } from '../support/postgres-event-log';
import { ContractHarness, runEventStoreContract } from './event-store.contract';

/**
 * A fresh schema per test (created by the store on first use, dropped afterwards); "another
 * connection" = another PostgresEventStore on it, with a pool and a LISTEN connection of its own.
 */
function postgresHarness(options: { groupCommit: boolean }) {
  return async (): Promise<ContractHarness> => {
    const schema = freshSchema('es_contract');
    const url = eventLogUrl(schema);
    const opened: EventStore[] = [];
    const open = (): PostgresEventStore => {
      const s = PostgresEventStore.connect(url, { groupCommit: options.groupCommit, poolSize: 4 });
      opened.push(s);
      return s;
    };
    const store = open();
    return {
      store,
      openAnother: async () => open(),
      // The checkpoint store is not what this suite tests against PostgreSQL.
      checkpoints: new InMemoryCheckpointStore(),
      dispose: async () => {
        for (const s of opened) await s.close();
        await dropSchemas(schema);
      },
    };
  };
}

runEventStoreContract('PostgreSQL (group commit)', postgresHarness({ groupCommit: true }));
runEventStoreContract(
  'PostgreSQL (one transaction per append)',
  postgresHarness({ groupCommit: false }),
);
