/**
 * Child process for role-lease.test.ts: takes a lease (argv: `pg <url>` or `file <dir>`, then the
 * lease name), prints HELD once it holds it, and then just lives until it is killed.
 */
import { FileLeaseBackend, PostgresLeaseBackend } from '../../../libs/infrastructure/src';

async function main(): Promise<void> {
  const [kind, where, name] = process.argv.slice(2);
  if (!kind || !where || !name) throw new Error('usage: pg|file <url|dir> <name>');
  const backend = kind === 'pg' ? new PostgresLeaseBackend(where) : new FileLeaseBackend(where);
  for (;;) {
    const held = await backend.tryAcquire(name);
    if (held) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stdout.write('HELD\n');
  setInterval(() => undefined, 60_000);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
