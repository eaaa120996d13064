import 'reflect-metadata';
import { runCli } from './cli';

// `npm run ops -- <command>`: see `npm run ops -- --help`.
runCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ops failed: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
