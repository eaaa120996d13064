import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createGenerationDir } from '../../../libs/ops/src/generation-dir-owner';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { type CliRun, ROOT, runOps } from './ops-cli';
import { seedDataDir } from './seed-log';

/**
 * SQLite generations (DATA_DIR/read-models/<generation>/, as large as the read database) of
 * replay processes that were killed before they could remove them: the next replay removes those
 * whose lock is free, whatever host claimed them (libs/ops/src/generation-dir-owner.ts), and that
 * the pointer does not name; nothing else. The generation a replay replaced is dropped. And a
 * replay started by the api (an IPC channel) is not interrupted by the Ctrl+C that the terminal
 * of `npm start` sends to the whole process group: the api decides (apps/ops/src/parent.ts).
 */
const EVENTS = 100_000;

describe('replay shadows of killed replays; Ctrl+C and a replay started by the api', () => {
  let dataDir: string;
  const replayDir = () => join(dataDir, 'read-models');
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

  /** A shadow directory a replay left: its owner file, and a lock file nobody holds, or none. */
  function leftShadow(name: string, owner: { pid: number; host: string }, lock: boolean): void {
    const dir = join(replayDir(), name);
    mkdirSync(dir);
    if (lock)
      new Database(join(dir, 'owner.lock')).exec('CREATE TABLE owner (pid INTEGER)').close();
    writeFileSync(
      join(dir, 'owner.json'),
      JSON.stringify({ ...owner, startedAt: new Date().toISOString() }),
    );
  }

  it('a replay SIGKILLed mid-build leaves its shadow; the next replay removes it and every shadow whose lock is free, from any host, but not a locked one nor one without an owner', async () => {
    const killed = startReplay(false);
    await killed.progressing;
    killed.child.kill('SIGKILL');
    expect((await killed.done).signal).toBe('SIGKILL');
    const orphans = shadows();
    expect(orphans).toHaveLength(1);
    // The killed replay's lock, released by the OS with its process.
    expect(readdirSync(join(replayDir(), orphans[0]!))).toContain('owner.lock');

    // Gone, of another host (a container that never came back): its lock is free.
    leftShadow('g-elsewhere-gone', { pid: 1, host: 'another-host' }, true);
    // Alive on another host sharing the volume: claimed as a replay claims it (by this process
    // here), its owner file then naming another host.
    const alive = createGenerationDir(replayDir(), 'g-elsewhere-alive');
    writeFileSync(
      join(alive.path, 'owner.json'),
      JSON.stringify({ pid: 1, host: 'another-host', startedAt: new Date().toISOString() }),
    );
    // Gone, though its pid now runs another process (this one): the lock decides, not the pid.
    leftShadow('g-pid-reused', { pid: process.pid, host: hostname() }, true);
    // A replay of an earlier version, without a lock file, whose process still runs (this one).
    leftShadow('g-running', { pid: process.pid, host: hostname() }, false);
    mkdirSync(join(replayDir(), 'not-a-replay'));

    try {
      const next = await runOps(['replay', '--json'], { DATA_DIR: dataDir });
      expect(next.code).toBe(0);
      const report = JSON.parse(next.stdout) as { swapped: boolean; generation: string };
      expect(report.swapped).toBe(true);
      // The new generation, which the pointer names, is kept (its lock released).
      expect(shadows()).toEqual(
        [report.generation, 'g-elsewhere-alive', 'g-running', 'not-a-replay'].sort(),
      );
    } finally {
      alive.remove();
    }
  }, 120_000);

  it('a replay started with a parent channel (by the api) goes on through a SIGINT (Ctrl+C of the terminal) and switches over', async () => {
    const before = shadows().filter((n) => /^g[0-9a-z]+$/.test(n));
    expect(before).toHaveLength(1);
    const replay = startReplay(true);
    await replay.progressing;
    replay.child.kill('SIGINT');
    const run = await replay.done;
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    const report = JSON.parse(run.stdout) as {
      swapped: boolean;
      generation: string;
      replaced: string;
    };
    expect(report.swapped).toBe(true);
    // The generation it replaced is dropped.
    expect(report.replaced).toBe(before[0]);
    expect(shadows()).toEqual([report.generation, 'g-running', 'not-a-replay'].sort());
  }, 120_000);
});
