import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { ReplayProgress, ReplayReport } from '@app/ops';
import type { AppConfig } from '@app/platform';

export interface ReplayProcessOptions {
  config: AppConfig;
  projection: string;
  dryRun: boolean;
  onProgress: (p: ReplayProgress) => void;
}

/** The ops CLI next to this app: compiled (dist, the image) or TypeScript (tests, `npm run ops`). */
function opsCommand(): { execArgv: string[]; entry: string } {
  const ext = extname(__filename);
  const entry = resolve(__dirname, '..', '..', '..', 'ops', 'src', `main${ext}`);
  if (ext !== '.ts') return { execArgv: [], entry };
  // From source, as `npm run ops` runs it: the SWC hook compiles the TypeScript on load.
  const hook = resolve(__dirname, '..', '..', '..', '..', 'test', 'support', 'swc-register.js');
  return { execArgv: existsSync(hook) ? ['-r', hook] : [], entry };
}

/** The child's environment: this process's, with the settings the app was configured with. */
function childEnv(config: AppConfig): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: config.nodeEnv, LOG_LEVEL: 'warn' };
  const set = (name: string, value: string | undefined) => {
    if (value === undefined) delete env[name];
    else env[name] = value;
  };
  set('DATA_DIR', config.dataDir);
  set('READ_DB_URL', config.readDbUrl);
  set('EVENTSTORE_URL', config.eventStoreUrl);
  set('KEY_ENCRYPTION_KEY', config.keyEncryptionKey?.toString('base64'));
  return env;
}

/**
 * Runs `ops replay --json --progress-ndjson` in a child process and resolves to its report.
 *
 * Not in this process: the replay's synchronous SQLite work (the bulk build's writes, index
 * builds, checksums: seconds at a million events) would stall every request the API answers
 * meanwhile, and its memory (hundreds of MiB at a million events) would be the API's. A dry run
 * whose tables differ exits 1 with a report: that is a finished replay, reported as such.
 */
export function runReplayProcess(o: ReplayProcessOptions): Promise<ReplayReport> {
  const { execArgv, entry } = opsCommand();
  const args = [...execArgv, entry, 'replay', '--json', '--progress-ndjson'];
  args.push('--projection', o.projection);
  if (o.dryRun) args.push('--dry-run');
  const child = spawn(process.execPath, args, {
    env: childEnv(o.config),
    // The IPC channel carries no messages: it tells the child when this process is gone (it
    // closes however this process ends, SIGKILL and OOM included), and the child then stops its
    // replay (between pages of the build, or by rolling the switch-over back) and removes its
    // generation instead of running on unrecorded (apps/ops/src/parent.ts).
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stdout = '';
  let stderrTail = '';
  let pending = '';
  // Pipes, as asked for above (with 'ipc' in stdio the typings no longer say so).
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('{"progress":')) {
        try {
          o.onProgress((JSON.parse(line) as { progress: ReplayProgress }).progress);
          continue;
        } catch {
          // Not a progress line after all: kept as output.
        }
      }
      stderrTail = `${stderrTail}${line}\n`.slice(-2000);
    }
  });
  return new Promise<ReplayReport>((done, fail) => {
    child.on('error', fail);
    child.on('close', (code, signal) => {
      let report: ReplayReport | null = null;
      try {
        report = stdout.trim() ? (JSON.parse(stdout) as ReplayReport) : null;
      } catch {
        report = null;
      }
      if (report && (code === 0 || code === 1)) return done(report);
      const why = (stderrTail + pending).trim().replace(/^ops failed: /, '');
      fail(new Error(why || `the replay process ended with ${signal ?? `exit code ${code}`}`));
    });
  });
}
