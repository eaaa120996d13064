import { readSideScenarios } from './support/read-side.scenarios';

describe('read side over HTTP, read store on SQLite (embedded default)', () => {
  readSideScenarios({ env: () => ({}) });
});
