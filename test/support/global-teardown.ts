import { tearDownTestPostgres } from './postgres-harness';

/** jest globalTeardown (jest.config.js): runs once, in jest's own process, after every test file. */
export default async function globalTeardown(): Promise<void> {
  await tearDownTestPostgres();
}
