import 'reflect-metadata';
import { runCli } from './cli';
import { watchParent } from './parent';

// `npm run ops -- <command>`: see `npm run ops -- --help`. Started by the api (with an IPC
// channel), a replay stops when the api goes away: see parent.ts.
runCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  signal: watchParent() ?? undefined,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ops failed: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
