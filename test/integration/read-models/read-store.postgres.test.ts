import { ReadDb } from '@app/read-models';
import { dropSchema, freshSchema, urlWithSchema } from './support/postgres';
import { readStoreContract } from './support/read-store.contract';

describe('read store on PostgreSQL (READ_DB_URL; each test in its own schema, dropped after)', () => {
  readStoreContract(() => {
    const schema = freshSchema();
    return {
      open: (dataDir) => ReadDb.open({ dataDir, readDbUrl: urlWithSchema(schema), poolSize: 2 }),
      cleanup: () => dropSchema(schema),
    };
  });
});
