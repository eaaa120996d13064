/**
 * npm run bench:replay [-- N]: events per second of a full replay of the read models (build a new
 * generation, switch the pointer over) from a log of N events (default 1,000,000) made by the real deciders,
 * next to the raw read-and-parse rate of the same store (readAll pages, nothing else) measured in
 * the same run on the same machine. The replay is the operator's command, `npm run ops -- replay
 * --json`, run as a child process on the seeded DATA_DIR (a fresh process, as operators run it);
 * its peak RSS is read from /proc. Meanwhile a probe process writes a row into the live read
 * database every 20 ms, as the live projector would, and reports how long it waited for the
 * write lock (support/live-writer-probe.ts). Prints the load average before and after.
 * BENCH_ORDER=time writes the log in recordedAt order across subscriptions (a subscription's
 * events far apart, as years of appends leave them) instead of each subscription's events
 * together.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { openEventStores } from '@app/infrastructure';
import type { ReplayReport } from '@app/ops';
import { loadConfig } from '@app/platform';
import { ROOT } from '../integration/ops/ops-cli';
import { seedLog } from '../integration/ops/seed-log';
import { cpuSeconds as cpuSecondsOf } from './support/bench-server';
import { makeTmpDir, removeTmpDir } from '../support/tmp-dir';

const N = Number(process.argv[2] ?? process.env['BENCH_N'] ?? 1_000_000);
const ORDER = process.env['BENCH_ORDER'] === 'time' ? 'time' : 'stream';
const MB = (bytes: number) => `${Math.round(bytes / 1024 / 1024).toLocaleString('en')} MiB`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');

async function main(): Promise<void> {
  const dataDir = makeTmpDir('bench-replay-');
  const config = loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' });
  const stores = openEventStores(config);
  try {
    console.log(`load average (1 / 5 / 15 min) at start: ${load()}`);
    let t = Date.now();
    // The deciders run once per input shape (ids put in afterwards, a sample decided again and
    // compared); 1 subscription in 100 goes through the encrypting store (personal fields).
    const seeded = await seedLog(stores, N, {
      encryptEvery: 100,
      concurrency: 512,
      reuseDecisions: true,
      order: ORDER,
    });
    console.log(
      `seeded ${seeded.events.toLocaleString('en')} events (${seeded.subscriptions.toLocaleString('en')} subscriptions, ${ORDER === 'time' ? 'in recordedAt order across subscriptions' : "each subscription's events together"}) in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );

    t = Date.now();
    let read = 0;
    let after: bigint | undefined;
    for (;;) {
      const page = await stores.raw.readAll({
        ...(after === undefined ? {} : { after }),
        maxCount: 2000,
      });
      if (page.length === 0) break;
      read += page.length;
      after = page[page.length - 1]!.position;
    }
    const readMs = Date.now() - t;

    await stores.raw.close();
    await stores.keys.close();

    const loadBefore = load();
    const probe = startLiveWriterProbe(dataDir);
    await probe.ready;
    const started = Date.now();
    let replayed: Awaited<ReturnType<typeof replayInChild>>;
    try {
      replayed = await replayInChild(dataDir);
    } catch (error) {
      probe.kill();
      throw error;
    }
    const { report, peakRss, cpuSeconds } = replayed;
    const wallSeconds = (Date.now() - started) / 1000;
    const writer = await probe.stop();
    const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en');
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}`);
    console.log(
      `raw read-and-parse (readAll, 2000/page): ${read.toLocaleString('en')} events in ${(readMs / 1000).toFixed(2)} s = ${rate(read, readMs)} events/s`,
    );
    const totalMs = report.buildMs + report.swapMs;
    console.log(
      `replay (ops replay: bulk build into a new generation, top-up): ${report.events.toLocaleString('en')} events in ${(report.buildMs / 1000).toFixed(2)} s = ${rate(report.events, report.buildMs)} events/s; switch-over ${(report.swapMs / 1000).toFixed(2)} s, of which the pointer's lock (writers of the read models wait) was held ${(report.lockMs / 1000).toFixed(2)} s; build + switch-over ${(totalMs / 1000).toFixed(2)} s = ${rate(report.events, totalMs)} events/s`,
    );
    console.log(
      `replay process: peak RSS ${peakRss === null ? 'n/a (no /proc)' : MB(peakRss)}; CPU ${cpuSeconds === null ? 'n/a' : `${cpuSeconds.toFixed(1)} s`} (all threads, start-up and switch-over included) in ${wallSeconds.toFixed(1)} s of wall time`,
    );
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    console.log(
      `live writer during the replay (one row every 20 ms into the live read database, as the projector writes): ${writer.writes.toLocaleString('en')} writes (${writer.over250} waited over 250 ms), wait for the write lock p50 ${ms(writer.p50)}, p99 ${ms(writer.p99)}, max ${ms(writer.max)} (${(writer.maxAtMs / 1000).toFixed(1)} s after the replay made its generation)`,
    );
    console.log(`load average (1 / 5 / 15 min): before the replay ${loadBefore}, after ${load()}`);
    // Build and switch-over against the raw read of the same events, in this run.
    const ratio = totalMs > 0 ? report.events / totalMs / (read / readMs) : 0;
    console.log(
      `ratio: replay (build + switch-over) ${rate(report.events, totalMs)} / raw read ${rate(read, readMs)} events/s = ${ratio.toFixed(2)} (target ≥ 0.50) → ${ratio >= 0.5 ? 'met' : 'NOT met'}`,
    );
  } finally {
    await stores.raw.close();
    await stores.keys.close();
    removeTmpDir(dataDir);
  }
}

interface LiveWriterReport {
  writes: number;
  over250: number;
  p50: number;
  p99: number;
  max: number;
  maxAtMs: number;
}

/**
 * support/live-writer-probe.ts as a child process; `ready` once it has loaded, stop() ends it and
 * returns its report.
 */
function startLiveWriterProbe(dataDir: string): {
  ready: Promise<void>;
  stop(): Promise<LiveWriterReport>;
  kill(): void;
} {
  const child = spawn(
    process.execPath,
    ['-r', './test/support/swc-register.js', 'test/bench/support/live-writer-probe.ts', dataDir],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  let loaded = (): void => undefined;
  const ready = new Promise<void>((resolve) => (loaded = resolve));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.startsWith('ready\n')) loaded();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  });
  return {
    ready: Promise.race([
      ready,
      exited.then((code) => {
        throw new Error(`live writer probe exited with ${code} before it was ready`);
      }),
    ]),
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`live writer probe exited with ${code}`);
      // The last line: the report (the first is `ready`).
      return JSON.parse(stdout.trim().split('\n').pop() ?? '') as LiveWriterReport;
    },
    kill: () => void child.kill('SIGKILL'),
  };
}

/** `npm run ops -- replay --json` on dataDir; its report and its peak RSS (VmHWM). */
async function replayInChild(
  dataDir: string,
): Promise<{ report: ReplayReport; peakRss: number | null; cpuSeconds: number | null }> {
  const child = spawn(
    process.execPath,
    ['-r', './test/support/swc-register.js', 'apps/ops/src/main.ts', 'replay', '--json'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        DATA_DIR: dataDir,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  let peakRss: number | null = null;
  let cpuSeconds: number | null = null;
  const hwm = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakRss = Math.max(peakRss ?? 0, Number(m[1]) * 1024);
      // All threads; null once the process is gone (the last reading stands).
      cpuSeconds = cpuSecondsOf(child.pid!) ?? cpuSeconds;
    } catch {
      // the process is gone (its last reading stands) or there is no /proc
    }
  };
  const sampler = setInterval(hwm, 50);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  });
  clearInterval(sampler);
  if (code !== 0) throw new Error(`ops replay exited with ${code}: ${stdout}`);
  return { report: JSON.parse(stdout) as ReplayReport, peakRss, cpuSeconds };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
