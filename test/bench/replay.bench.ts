/**
 * npm run bench:replay [-- N]: events per second of a full replay of the read models (build into
 * a shadow, switch over) from a log of N events (default 1,000,000) made by the real deciders,
 * next to the raw read-and-parse rate of the same store (readAll pages, nothing else) measured in
 * the same run on the same machine.
 */
import 'reflect-metadata';
import { cpus } from 'node:os';
import { openEventStores } from '@app/infrastructure';
import { replayReadModels } from '@app/ops';
import { loadConfig } from '@app/platform';
import { ReadDb } from '@app/read-models';
import { seedLog } from '../integration/ops/seed-log';
import { makeTmpDir, removeTmpDir } from '../support/tmp-dir';

const N = Number(process.argv[2] ?? process.env['BENCH_N'] ?? 1_000_000);

async function main(): Promise<void> {
  const dataDir = makeTmpDir('bench-replay-');
  const config = loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' });
  const stores = openEventStores(config);
  try {
    let t = Date.now();
    const seeded = await seedLog(stores, N, { encryptEvery: 100, concurrency: 512 });
    console.log(
      `seeded ${seeded.events.toLocaleString('en')} events (${seeded.subscriptions.toLocaleString('en')} subscriptions) in ${((Date.now() - t) / 1000).toFixed(1)} s`,
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
    const report = await replayReadModels({ log: stores.raw, live, dataDir, batchSize: 2000 });
    await live.close();
    const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en');
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}`);
    console.log(
      `raw read-and-parse (readAll, 2000/page): ${read.toLocaleString('en')} events in ${(readMs / 1000).toFixed(2)} s = ${rate(read, readMs)} events/s`,
    );
    console.log(
      `replay (build into shadow incl. index rebuild): ${report.events.toLocaleString('en')} events in ${(report.buildMs / 1000).toFixed(2)} s = ${rate(report.events, report.buildMs)} events/s; switch-over ${report.swapMs} ms`,
    );
    console.log(
      `replay / raw read: ${((report.buildMs ? readMs / report.buildMs : 0) * 100).toFixed(0)} %; target 100,000 events/s: ${(report.events / report.buildMs) * 1000 >= 100_000 ? 'met' : 'NOT met'}`,
    );
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
