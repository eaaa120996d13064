import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModelChecksums } from '@app/ops';
import { findFreePort } from '@app/platform';
import { ReadDb } from '@app/read-models';
import { TOKENS } from '../../support/app-harness';
import { stopChildProcess } from '../../support/processes';
import { usePrivateRedis } from '../../support/redis-harness';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { type CliRun, ROOT, runOps } from './ops-cli';
import { seedDataDir } from './seed-log';
import { sqliteGenerationsLeft } from './generations-left';

/**
 * POST /v1/ops/replay runs the replay in a child process (the ops CLI). Here the api is a real
 * process (apps/api/src/main.ts --api-only, a private redis-server), killed with SIGKILL while
 * its child replays a log of 200,000 events: the child must not run on unrecorded. It stops
 * (its IPC channel to the api closed: apps/ops/src/parent.ts), removes its shadow under
 * DATA_DIR/replay/, and leaves the live read models consistent: checksums as before the replay,
 * `ops verify` finds no drift. The same CLI run with no parent channel (as from a terminal)
 * replays to the end.
 */
const EVENTS = 200_000;

describe('a replay child process when the api that started it is killed (SIGKILL)', () => {
  const redis = usePrivateRedis();
  let dataDir: string;
  let baseline: Awaited<ReturnType<typeof readModelChecksums>>;
  let api: { child: ChildProcess; url: string } | null = null;
  let cli: CliRun;
  const env = () => ({ DATA_DIR: dataDir, AUTH_TOKENS: authTokens() });

  const checksums = async () => {
    const readDb = await ReadDb.open({ dataDir });
    try {
      return await readModelChecksums(readDb);
    } finally {
      await readDb.close();
    }
  };
  const shadowsLeft = (): string[] => sqliteGenerationsLeft(dataDir);

  beforeAll(async () => {
    dataDir = makeTmpDir('replay-api-killed-');
    await seedDataDir(dataDir, EVENTS, {
      encryptEvery: 100,
      concurrency: 512,
      reuseDecisions: true,
    });
    // The live read models: built by the CLI, run as an operator would, with no parent channel.
    cli = await runOps(['replay', '--json'], { DATA_DIR: dataDir });
    baseline = await checksums();
  }, 180_000);

  afterEach(async () => {
    if (api) await stopChildProcess(api.child, 5_000);
    api = null;
  });

  afterAll(() => {
    if (dataDir) removeTmpDir(dataDir);
  });

  it('the CLI run with no parent channel (as from a terminal) replays to the end and switches over', () => {
    expect(cli.code).toBe(0);
    const report = JSON.parse(cli.stdout) as { swapped: boolean; events: number };
    expect(report.swapped).toBe(true);
    expect(report.events).toBeGreaterThanOrEqual(EVENTS);
    expect(shadowsLeft()).toEqual([]);
  });

  it('killed during the build: the child stops within seconds, removes its shadow; the live read models are as before and verify clean', async () => {
    api = await startApi(env(), redis.url);
    const job = await startReplay(api.url);
    const replayer = await replayChildOf(api.child.pid!);
    // Mid-build: progress under way, not at its end.
    await until(api.url, job, (p) => p.events > 0 && p.done < p.total);
    expect(shadowsLeft()).toHaveLength(1);

    api.child.kill('SIGKILL');
    await new Promise((r) => api!.child.once('exit', r));
    const stoppedIn = await gone(replayer, 10_000);
    console.log(`replay child ${replayer} stopped ${stoppedIn} ms after its api was killed`);

    expect(shadowsLeft()).toEqual([]);
    expect(await checksums()).toEqual(baseline);
    const verify = await runOps(['verify', '--json'], { DATA_DIR: dataDir });
    expect([verify.code, JSON.parse(verify.stdout).ok]).toEqual([0, true]);
  }, 120_000);

  /** The ops CLI child process of the api (its command line names apps/ops/src/main.ts). */
  async function replayChildOf(pid: number): Promise<number> {
    for (let i = 0; i < 200; i++) {
      for (const child of childrenOf(pid)) {
        const cmd = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0');
        if (
          cmd.some((a) => a.endsWith(join('apps', 'ops', 'src', 'main.ts'))) &&
          cmd.includes('replay')
        )
          return child;
      }
      await sleep(25);
    }
    throw new Error(`no replay child process under the api (pid ${pid})`);
  }
});

type Progress = { events: number; done: number; total: number };
interface Job {
  id: string;
  href: string;
}

function authTokens(): string {
  return JSON.stringify({ [TOKENS.ops]: { service: 'ops', scopes: ['ops'] } });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The api alone (`npm run start:api`) in its own process; resolves once /health/ready answers 200. */
async function startApi(
  env: Record<string, string>,
  redisUrl: string,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await findFreePort();
  const child = spawn(
    process.execPath,
    ['-r', './test/support/swc-register.js', 'apps/api/src/main.ts', '--api-only'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        REDIS_URL: redisUrl,
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = `${stderr}${d.toString()}`.slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`api exited: ${stderr}`);
    const ready = await fetch(`${url}/health/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { child, url };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`api not ready after 60 s: ${stderr}`);
    }
    await sleep(200);
  }
}

const headers = { authorization: `Bearer ${TOKENS.ops}`, 'content-type': 'application/json' };

async function startReplay(url: string): Promise<Job> {
  const res = await fetch(`${url}/v1/ops/replay`, { method: 'POST', headers, body: '{}' });
  expect(res.status).toBe(202);
  const job = (await res.json()) as Job & { status: string };
  expect(job.status).toBe('running');
  return job;
}

/** Polls the job's progress until `reached` (the job still running). */
async function until(url: string, job: Job, reached: (p: Progress) => boolean): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const res = await fetch(`${url}${job.href}`, { headers });
    const body = (await res.json()) as { status: string; progress: Progress };
    expect(body.status).toBe('running');
    if (reached(body.progress)) return;
    await sleep(25);
  }
  throw new Error('the replay never reached the expected progress');
}

/** The pids of a process's children (Linux: /proc/<pid>/task/<tid>/children). */
function childrenOf(pid: number): number[] {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number),
  );
}

/** Waits until the process has ended (gone, or a zombie nobody reaped yet); returns the ms it took. */
async function gone(pid: number, withinMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    let state: string | null = null;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] ?? null;
    } catch {
      state = null;
    }
    if (state === null || state === 'Z' || state === 'X') return Date.now() - started;
    if (Date.now() - started > withinMs) {
      process.kill(pid, 'SIGKILL');
      throw new Error(`the replay child ${pid} still runs ${withinMs} ms after its api was killed`);
    }
    await sleep(50);
  }
}
