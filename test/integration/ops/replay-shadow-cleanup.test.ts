import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { type CliRun, ROOT, runOps } from './ops-cli';
import { seedDataDir } from './seed-log';

/**
 * SQLite shadows (DATA_DIR/replay/<generation>/, as large as the read database) of replay
 * processes that were killed before they could remove them: the next replay removes those whose
 * process is gone from this host (libs/ops/src/replay-shadow-owner.ts), and nothing else. And a
 * replay started by the api (an IPC channel) is not interrupted by the Ctrl+C that the terminal
 * of `npm start` sends to the whole process group: the api decides (apps/ops/src/parent.ts).
 */
const EVENTS = 100_000;

describe('replay shadows of killed replays; Ctrl+C and a replay started by the api', () => {
  let dataDir: string;
  const replayDir = () => join(dataDir, 'replay');
  const shadows = () => readdirSync(replayDir()).sort();

  beforeAll(async () => {
    dataDir = makeTmpDir('replay-shadow-cleanup-');
    await seedDataDir(dataDir, EVENTS, {
      encryptEvery: 100,
      concurrency: 512,
      reuseDecisions: true,
    });
  }, 120_000);

  afterAll(() => {
    if (dataDir) removeTmpDir(dataDir);
  });

  /** `ops replay --json --progress-ndjson`; resolves once the first progress line is out. */
  function startReplay(ipc: boolean) {
    const child = spawn(
      process.execPath,
      [
        '-r',
        './test/support/swc-register.js',
        'apps/ops/src/main.ts',
        'replay',
        '--json',
        '--progress-ndjson',
      ],
      {
        cwd: ROOT,
        env: {
          PATH: process.env['PATH'] ?? '',
          NODE_ENV: 'test',
          LOG_LEVEL: 'silent',
          DATA_DIR: dataDir,
        },
        stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? (['ipc'] as const) : [])],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const progressing = new Promise<void>((resolve) =>
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('"events"')) resolve();
      }),
    );
    const done = new Promise<CliRun & { signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    return { child, progressing, done };
  }

  it('a replay SIGKILLed mid-build leaves its shadow; the next replay removes it, but not a shadow of a running process nor a directory without an owner', async () => {
    const killed = startReplay(false);
    await killed.progressing;
    killed.child.kill('SIGKILL');
    expect((await killed.done).signal).toBe('SIGKILL');
    const orphans = shadows();
    expect(orphans).toHaveLength(1);

    // A shadow of a process that still runs (this one) and a directory nobody claimed.
    const running = join(replayDir(), 'g-running');
    mkdirSync(running);
    writeFileSync(
      join(running, 'owner.json'),
      JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }),
    );
    mkdirSync(join(replayDir(), 'not-a-replay'));

    const next = await runOps(['replay', '--json'], { DATA_DIR: dataDir });
    expect(next.code).toBe(0);
    expect((JSON.parse(next.stdout) as { swapped: boolean }).swapped).toBe(true);
    expect(shadows()).toEqual(['g-running', 'not-a-replay']);
  }, 120_000);

  it('a replay started with a parent channel (by the api) goes on through a SIGINT (Ctrl+C of the terminal) and switches over', async () => {
    const replay = startReplay(true);
    await replay.progressing;
    replay.child.kill('SIGINT');
    const run = await replay.done;
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    expect((JSON.parse(run.stdout) as { swapped: boolean }).swapped).toBe(true);
    expect(shadows()).toEqual(['g-running', 'not-a-replay']);
  }, 120_000);
});
