/**
 * npm run bench:replay [-- N]: events per second of a full replay of the read models (build into
 * a shadow, switch over) from a log of N events (default 1,000,000) made by the real deciders,
 * next to the raw read-and-parse rate of the same store (readAll pages, nothing else) measured in
 * the same run on the same machine. Prints the peak RSS of the replay and the load average.
 * BENCH_ORDER=time writes the log in recordedAt order across subscriptions (a subscription's
 * events far apart, as years of appends leave them) instead of each subscription's events
 * together.
 */
import 'reflect-metadata';
import { cpus, loadavg } from 'node:os';
import { composeUpcasters } from '@app/event-store';
import { openEventStores, UPCASTERS } from '@app/infrastructure';
import { replayReadModels } from '@app/ops';
import { loadConfig } from '@app/platform';
import { ReadDb } from '@app/read-models';
import { seedLog } from '../integration/ops/seed-log';
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

    const live = await ReadDb.open({ dataDir });
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
    const sampler = setInterval(sample, 20);
    const loadBefore = load();
    // As `npm run ops -- replay` runs it: the raw log, the upcasters of the app.
    const report = await replayReadModels({
      log: stores.raw,
      live,
      dataDir,
      upcast: composeUpcasters(UPCASTERS),
      onProgress: sample,
    });
    clearInterval(sampler);
    sample();
    await live.close();
    const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en');
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}`);
    console.log(
      `raw read-and-parse (readAll, 2000/page): ${read.toLocaleString('en')} events in ${(readMs / 1000).toFixed(2)} s = ${rate(read, readMs)} events/s`,
    );
    console.log(
      `replay (bulk build into the shadow, top-up): ${report.events.toLocaleString('en')} events in ${(report.buildMs / 1000).toFixed(2)} s = ${rate(report.events, report.buildMs)} events/s; switch-over ${(report.swapMs / 1000).toFixed(2)} s`,
    );
    console.log(
      `replay / raw read: ${((report.buildMs ? readMs / report.buildMs : 0) * 100).toFixed(0)} %; target 100,000 events/s: ${(report.events / report.buildMs) * 1000 >= 100_000 ? 'met' : 'NOT met'}`,
    );
    console.log(
      `memory: peak RSS during the replay ${MB(peakRss)} (${MB(rssBefore)} before it; sampled every 20 ms and at each page); process max RSS ${MB(process.resourceUsage().maxRSS * 1024)} (seeding included)`,
    );
    console.log(`load average (1 / 5 / 15 min): before the replay ${loadBefore}, after ${load()}`);
  } finally {
    await stores.raw.close();
    await stores.keys.close();
    removeTmpDir(dataDir);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
