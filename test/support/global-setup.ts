import { setUpTestPostgres } from './postgres-harness';

/** jest globalSetup (jest.config.js): runs once, in jest's own process, before any test file. */
export default async function globalSetup(): Promise<void> {
  await setUpTestPostgres();
}
