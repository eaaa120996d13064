/**
 * Child process for migration-race.test.ts: opens the read database (which migrates it) the way
 * the api and the worker do at start, at an instant the parent chose, so that several processes
 * open the same fresh database at once.
 *
 * Loads the code, prints READY, then for each line `GO <epoch ms> <dataDir> [readDbUrl]` on stdin
 * waits for that instant, calls ReadDb.open, closes it and prints `OK` or `ERR <message>` (one
 * line each). Exits when stdin ends.
 */
import { createInterface } from 'node:readline';
import { ReadDb } from '../../../libs/read-models/src/database/read-db';

async function round(at: number, dataDir: string, readDbUrl: string | undefined): Promise<string> {
  await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
  try {
    const db = await ReadDb.open({ dataDir, readDbUrl, poolSize: 2 });
    await db.close();
    return 'OK';
  } catch (error) {
    return `ERR ${(error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ')}`;
  }
}

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [word, at, dataDir, readDbUrl] = line.split(' ');
  if (word !== 'GO' || !at || !dataDir) throw new Error(`unexpected input: ${line}`);
  queue = queue
    .then(() => round(Number(at), dataDir, readDbUrl))
    .then((result) => void process.stdout.write(`${result}\n`));
});
process.stdout.write('READY\n');
