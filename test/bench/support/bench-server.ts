import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus as cpuList, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { procStatFields, stopChildProcess } from '../../support/processes';

const ROOT = join(__dirname, '..', '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface BenchServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts the real lifecycle worker (apps/worker/src/main.ts, what `npm run start:worker` runs) in
 * its own process; `env` needs at least DATA_DIR and REDIS_URL.
 */
export function startWorker(env: Record<string, string>): {
  child: ChildProcess;
  stop(): Promise<void>;
} {
  const child = spawn(
    process.execPath,
    [
      ...(process.env['BENCH_WORKER_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
      '-r',
      join(ROOT, 'test/support/swc-register.js'),
      join(ROOT, 'apps/worker/src/main.ts'),
    ],
    {
      cwd: ROOT,
      // A free health port unless given (9464 by default; benches may run several workers).
      env: { ...process.env, WORKER_HEALTH_PORT: '0', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  return { child, stop: () => stopChildProcess(child, 15_000) };
}

/**
 * Starts the real service (apps/api/src/main.ts, what `npm start` runs: api, projector,
 * scheduler and workers with a private redis-server) in its own process, through the project's
 * swc register hook, and waits until it is ready.
 */
export async function startServer(
  env: Record<string, string>,
  args: string[] = [],
): Promise<BenchServer> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      // e.g. BENCH_NODE_ARGS=--cpu-prof to profile the service under load
      ...(process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
      '-r',
      join(ROOT, 'test/support/swc-register.js'),
      join(ROOT, 'apps/api/src/main.ts'),
      ...args,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server not ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    stop: () => stopChildProcess(child, 15_000),
  };
}

/** A metric's value from GET /metrics (first sample of that name + labels). */
export async function metric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

export async function waitForMetric(
  url: string,
  name: string,
  done: (v: number | undefined) => boolean,
  timeoutMs = 300_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done(await metric(url, name))) {
    if (Date.now() > deadline) throw new Error(`${name} did not settle`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** CPU seconds used so far by a process (Linux /proc; null elsewhere). */
export function cpuSeconds(pid: number): number | null {
  try {
    const fields = procStatFields(pid);
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
  } catch {
    return null;
  }
}

/**
 * Waits until the service has finished its background work (projector, scheduler, reconciler
 * after a large seed): less than `busy` of a core used over a 2 s window. Falls back to a fixed
 * wait where /proc is missing.
 */
export async function waitUntilIdle(
  child: ChildProcess,
  busy = 0.1,
  timeoutMs = 600_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = cpuSeconds(child.pid!);
    await new Promise((r) => setTimeout(r, 2000));
    const b = cpuSeconds(child.pid!);
    if (a === null || b === null || (b - a) / 2 < busy || Date.now() > deadline) return;
  }
}

/** CPU seconds the whole machine has spent busy (all cores, /proc/stat; 0 elsewhere). */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
    return (
      ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100
    );
  } catch {
    return 0;
  }
}

export function machine(): string {
  const cpus = cpuList();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${platform()} ${release()}, load average before the run ${load}`;
}
