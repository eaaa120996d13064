import {
  dropSchema,
  freshSchema,
  urlWithSchema,
} from '../integration/read-models/support/postgres';
import { readSideScenarios } from './support/read-side.scenarios';

describe('read side over HTTP, read store on PostgreSQL (READ_DB_URL, own schema dropped after)', () => {
  const schema = freshSchema('rm_e2e');
  readSideScenarios({
    env: () => ({ READ_DB_URL: urlWithSchema(schema) }),
    afterAll: () => dropSchema(schema),
  });
});
