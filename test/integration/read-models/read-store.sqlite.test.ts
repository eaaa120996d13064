import { ReadDb } from '@app/read-models';
import { readStoreContract } from './support/read-store.contract';

describe('read store on SQLite (embedded default, DATA_DIR/read-models.sqlite)', () => {
  readStoreContract(() => ({
    open: (dataDir) => ReadDb.open({ dataDir }),
    cleanup: async () => {},
  }));
});
