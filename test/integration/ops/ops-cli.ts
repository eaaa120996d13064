import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..', '..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run ops -- …` as a real child process (node + the swc register hook). */
export function runOps(
  args: readonly string[],
  env: Record<string, string>,
): Promise<CliRun> & { child: ChildProcess } {
  const child = spawn(
    process.execPath,
    ['-r', './test/support/swc-register.js', 'apps/ops/src/main.ts', ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const run = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  // The process itself, for tests that signal it mid-run.
  return Object.assign(run, { child });
}
