import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeTmpDir, removeTmpDir } from '../tmp-dir';

const ROOT = resolve(__dirname, '../../..');

export interface RedoclyProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: { pointer?: string }[];
}

export interface RedoclyReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: RedoclyProblem[];
}

/**
 * `redocly lint` (the CLI of the pinned @redocly/cli, with the repository's redocly.yaml: the
 * recommended rules) on a document, in a child process that does not block the event loop.
 */
export async function redoclyLint(document: unknown): Promise<RedoclyReport> {
  const dir = makeTmpDir('sub-eol-redocly-');
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    const cli = require.resolve('@redocly/cli/bin/cli.js');
    const args = [cli, 'lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'json'];
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((done, fail) => {
      const child = spawn(process.execPath, args, {
        cwd: ROOT,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('error', fail);
      child.on('close', (exit) => done({ code: exit, stdout: out, stderr: err }));
    });
    const start = stdout.indexOf('{');
    if (start < 0) throw new Error(`redocly lint printed no report (exit ${code}):\n${stderr}`);
    return JSON.parse(stdout.slice(start)) as RedoclyReport;
  } finally {
    removeTmpDir(dir);
  }
}
