import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { ProductDataPurged } from '@app/domain';
import { SqliteEventStore } from '@app/event-store';
import { LocalProductDataStore } from '@app/purge';
import { startApp } from '../../support/app-harness';
import { removeTmpDir } from '../../support/tmp-dir';
import { HolderServer } from './fake-holder-server';
import { registerAndCancel, runTermEnd } from './purge-helpers';

const root = resolve(__dirname, '../../..');
const SECRET = 'crash-test-secret';

function runChild(dataDir: string, clockStart: string, holderUrl: string, subscriptionId: string) {
  const child = spawn(
    process.execPath,
    [
      '-r',
      join(root, 'test/support/swc-register.js'),
      join(__dirname, 'fixtures/purge-child.ts'),
      subscriptionId,
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        CLOCK_MODE: 'controlled',
        CLOCK_START: clockStart,
        DATA_HOLDERS: JSON.stringify({
          '*': [
            { kind: 'local' },
            {
              kind: 'http',
              name: 'recordings',
              url: holderUrl,
              secretEnv: 'CRASH_HOLDER_SECRET',
              timeoutMs: 20_000,
              attempts: 1,
            },
          ],
        }),
        CRASH_HOLDER_SECRET: SECRET,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );
  return { child, exited, output: () => out, errors: () => err };
}

describe('purge crash safety (real child process, SIGKILL)', () => {
  it('R15: killed between two holders, the purge completes after restart with one receipt and no double counting', async () => {
    const t = await startApp();
    const dataDir = t.dataDir;
    const server = new HolderServer(SECRET);
    await server.start();
    try {
      const { expiresAt, purgeAt } = await registerAndCancel(t, 'sub_crash');
      const seeded = t.app.get(LocalProductDataStore).inventory('sub_crash');
      await t.clock.advanceTo(expiresAt);
      await runTermEnd(t, 'sub_crash');
      await t.app.close();

      // First run: the local holder is purged and recorded, then the HTTP holder hangs and the
      // process is killed while waiting for it.
      let reached!: () => void;
      const httpReached = new Promise<void>((r) => (reached = r));
      server.behaviour = () => {
        reached();
        return 'hang';
      };
      const first = runChild(dataDir, purgeAt, server.url, 'sub_crash');
      await Promise.race([
        httpReached,
        first.exited.then(() => Promise.reject(new Error(`child exited early: ${first.errors()}`))),
      ]);
      first.child.kill('SIGKILL');
      expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });

      const store = SqliteEventStore.open(join(dataDir, 'events.sqlite'));
      const typesAfterCrash = (await store.readStream('subscription-sub_crash')).map((e) => e.type);
      expect(typesAfterCrash.slice(-2)).toEqual(['PurgeStarted', 'ProductDataHolderPurged']);

      // Second run, after the "restart": the holder answers; the purge completes.
      server.behaviour = () => 'ok';
      const second = runChild(dataDir, purgeAt, server.url, 'sub_crash');
      expect(await second.exited).toEqual({ code: 0, signal: null });
      expect(second.output()).toContain('RESULT {"status":"purged"');

      const events = await store.readStream('subscription-sub_crash');
      const types = events.map((e) => e.type);
      expect(types.filter((x) => x === 'PurgeStarted')).toHaveLength(1);
      expect(types.filter((x) => x === 'ProductDataHolderPurged')).toHaveLength(2);
      expect(types.filter((x) => x === 'ProductDataPurged')).toHaveLength(1);
      const receipt = (events.at(-1)!.data as ProductDataPurged['data']).receipt;
      expect(receipt.itemsDeleted).toBe(seeded.items + 42);
      expect(receipt.holders.map((h) => [h.holder, h.itemsDeleted])).toEqual([
        ['local', seeded.items],
        ['recordings', 42],
      ]);
      await store.close();
    } finally {
      await server.stop();
      removeTmpDir(dataDir);
    }
  });
});
