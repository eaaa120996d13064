import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..', '..');

describe('the fold threads of the replay load little', () => {
  // Each fold thread of a bulk build loads this module on its own before its first page: what it
  // pulls in delays that thread's share of the work (0.7 s of a 7 s build when it loaded the
  // read-models lib, with NestJS and Kysely). Checked in a fresh process, as a thread loads it.
  it("read-model-bulk-fold loads the domain, the projection's mapping and better-sqlite3, not the rest of the read-models lib or a framework", () => {
    const loaded = JSON.parse(
      execFileSync(
        process.execPath,
        [
          '-r',
          './test/support/swc-register.js',
          '-e',
          "require('./libs/ops/src/read-model-bulk-fold.ts'); process.stdout.write(JSON.stringify(Object.keys(require.cache)))",
        ],
        { cwd: ROOT, encoding: 'utf8' },
      ),
    ) as string[];
    const relative = loaded.map((f) => f.slice(ROOT.length + 1));
    expect(relative).toContain('libs/domain/src/index.ts');
    expect(relative.some((f) => f.startsWith('node_modules/better-sqlite3/'))).toBe(true);
    expect(relative).toContain('libs/read-models/src/projection/read-model-rows.ts');
    // The mapping and what it needs: the scrub of personal fields and the cipher's markers, the
    // integration events' public schema.
    const mapping = [
      'libs/read-models/src/projection/read-model-rows.ts',
      'libs/read-models/src/integration-events/integration-event.ts',
      'libs/read-models/src/projection/scrub.ts',
      'libs/event-store/src/encryption/personal-data-cipher.ts',
      // How a worker thread is started (node core only).
      'libs/platform/src/process/module-worker.ts',
    ];
    const heavy = relative.filter(
      (f) =>
        !mapping.includes(f) &&
        /^libs\/(?!domain\/|ops\/)|^node_modules\/(@nestjs|kysely|pg|ioredis|bullmq|@kurrent)\//.test(
          f,
        ),
    );
    expect(heavy).toEqual([]);
  });
});
