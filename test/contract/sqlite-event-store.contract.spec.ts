import { join } from 'node:path';
import { EventStore, SqliteCheckpointStore, SqliteEventStore } from '@app/event-store';
import { makeTmpDir, removeTmpDir } from '../support/tmp-dir';
import { ContractHarness, runEventStoreContract } from './event-store.contract';

/** A fresh SQLite file in a fresh temp dir per test; "another connection" = another handle on it. */
function sqliteHarness(options: { groupCommit: boolean }) {
  return async (): Promise<ContractHarness> => {
    const dir = makeTmpDir('es-contract-');
    const file = join(dir, 'events.sqlite');
    const opened: EventStore[] = [];
    const open = (): SqliteEventStore => {
      const s = SqliteEventStore.open(file, { groupCommit: options.groupCommit });
      opened.push(s);
      return s;
    };
    const store = open();
    // Checkpoints in the event log's own file, as the embedded default does.
    const checkpoints = SqliteCheckpointStore.open(file);
    return {
      store,
      openAnother: async () => open(),
      checkpoints,
      dispose: async () => {
        for (const s of opened) await s.close();
        await checkpoints.close();
        removeTmpDir(dir);
      },
    };
  };
}

runEventStoreContract('SQLite (group commit)', sqliteHarness({ groupCommit: true }));
runEventStoreContract('SQLite (one transaction per append)', sqliteHarness({ groupCommit: false }));
