import {
  dropSchema,
  freshSchema,
  urlWithSchema,
} from '../integration/read-models/support/postgres';
import { readSideScenarios } from './support/read-side.scenarios';

describe('read side over HTTP on the production stores: the event log and the read store in PostgreSQL (EVENTSTORE_URL, READ_DB_URL; own schemas dropped after)', () => {
  const log = freshSchema('es_e2e');
  const schema = freshSchema('rm_e2e');
  readSideScenarios({
    env: () => ({ EVENTSTORE_URL: urlWithSchema(log), READ_DB_URL: urlWithSchema(schema) }),
    afterAll: async () => {
      await dropSchema(schema);
      await dropSchema(log);
    },
  });
});
