import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');
const register = join(root, 'test', 'support', 'swc-register.js');
const crash = join(__dirname, 'fixtures', 'crash-on-expiry.js');
const main = join(root, 'apps', 'worker', 'src', 'main.ts');
export const API_MAIN = join(root, 'apps', 'api', 'src', 'main.ts');

/**
 * A real worker process (`apps/worker/src/main.ts`, or another entry point such as the api's),
 * optionally with a crash point preloaded.
 */
export class WorkerProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  private buffer = '';
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];

  constructor(
    env: Record<string, string>,
    crashMode?: 'after-append' | 'before-append',
    entry: string = main,
    entryArgs: string[] = [],
  ) {
    const args = ['-r', register, ...(crashMode ? ['-r', crash] : []), entry, ...entryArgs];
    this.child = spawn(process.execPath, args, {
      cwd: root,
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        // A free port, not 9464: several workers (and test files) run at once on one machine.
        WORKER_HEALTH_PORT: '0',
        ...(crashMode ? { CRASH_ON_EXPIRY: crashMode } : {}),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const take = (chunk: Buffer): void => {
      this.buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.lines.push(line);
        for (const w of [...this.waiters])
          if (w.test(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(line);
          }
      }
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    // 'close', not 'exit': it comes after the last output has been read.
    this.exited = new Promise((r) => this.child.on('close', (code, signal) => r({ code, signal })));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resolves with the first output line (past or future) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const seen = this.lines.find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no line matching ${pattern} within ${timeoutMs} ms:\n${this.lines.join('\n')}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        test: (l) => pattern.test(l),
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void this.exited.then(({ code, signal }) =>
        reject(
          new Error(
            `worker exited (${code ?? signal}) before ${pattern}:\n${this.lines.join('\n')}`,
          ),
        ),
      );
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }
}
