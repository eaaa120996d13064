import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { type CliRun, ROOT, runOps } from './ops-cli';
import { seedDataDir } from './seed-log';

/**
 * SQLite shadows (DATA_DIR/replay/<generation>/, as large as the read database) of replay
 * processes that were killed before they could remove them: the next replay removes those whose
 * lock is free, whatever host claimed them (libs/ops/src/replay-shadow-owner.ts), and nothing
 * else. And a
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

  /** A shadow directory as a replay claims one: owner file, and a lock file, locked or not. */
  function fakeShadow(
    name: string,
    owner: { pid: number; host: string },
    lock: 'none' | 'free' | 'held',
  ): Database.Database | null {
    const dir = join(replayDir(), name);
    mkdirSync(dir);
    let held: Database.Database | null = null;
    if (lock !== 'none') {
      const db = new Database(join(dir, 'owner.lock'));
      // As a replay holds it: the lock of a write, kept until the connection closes.
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('CREATE TABLE owner (pid INTEGER)');
      if (lock === 'held') held = db;
      else db.close();
    }
    writeFileSync(
      join(dir, 'owner.json'),
      JSON.stringify({ ...owner, startedAt: new Date().toISOString() }),
    );
    return held;
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
    fakeShadow('g-elsewhere-gone', { pid: 1, host: 'another-host' }, 'free');
    // Alive on another host sharing the volume: its lock is held (here, by this process).
    const alive = fakeShadow('g-elsewhere-alive', { pid: 1, host: 'another-host' }, 'held');
    // Gone, though its pid now runs another process (this one): the lock decides, not the pid.
    fakeShadow('g-pid-reused', { pid: process.pid, host: hostname() }, 'free');
    // A replay of an earlier version, without a lock file, whose process still runs (this one).
    fakeShadow('g-running', { pid: process.pid, host: hostname() }, 'none');
    mkdirSync(join(replayDir(), 'not-a-replay'));

    try {
      const next = await runOps(['replay', '--json'], { DATA_DIR: dataDir });
      expect(next.code).toBe(0);
      expect((JSON.parse(next.stdout) as { swapped: boolean }).swapped).toBe(true);
    } finally {
      alive?.close();
    }
    expect(shadows()).toEqual(['g-elsewhere-alive', 'g-running', 'not-a-replay']);
  }, 120_000);

  it('a replay started with a parent channel (by the api) goes on through a SIGINT (Ctrl+C of the terminal) and switches over', async () => {
    const replay = startReplay(true);
    await replay.progressing;
    replay.child.kill('SIGINT');
    const run = await replay.done;
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    expect((JSON.parse(run.stdout) as { swapped: boolean }).swapped).toBe(true);
    // The lock of g-elsewhere-alive was released after the first test: its replay is gone now.
    expect(shadows()).toEqual(['g-running', 'not-a-replay']);
  }, 120_000);
});
