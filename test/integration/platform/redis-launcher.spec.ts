import { spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  assertRedisUsable,
  findFreePort,
  isProcessRunning,
  startPrivateRedis,
  type PrivateRedis,
} from '@app/platform';
import { tempDir, withClient } from './redis-test.helpers';

/** Starts a private redis in its own temp dir; everything is torn down by the returned cleanup. */
async function launch(options: Partial<Parameters<typeof startPrivateRedis>[0]> = {}) {
  const dir = await tempDir('redis-launcher-');
  const server = await startPrivateRedis({
    dataDir: join(dir.path, 'redis'),
    persistence: 'aof',
    ...options,
  }).catch(async (error: unknown) => {
    await dir.remove();
    throw error;
  });
  return { server, cleanup: async () => (await server.stop(), await dir.remove()) };
}

describe('startPrivateRedis', () => {
  describe('persistence none', () => {
    let server: PrivateRedis;
    let cleanup: () => Promise<void>;
    beforeAll(async () => ({ server, cleanup } = await launch({ persistence: 'none' })));
    afterAll(() => cleanup());

    it('runs with AOF and RDB snapshots off', async () => {
      await withClient(server.url, async (client) => {
        expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
        expect(await client.config('GET', 'save')).toEqual(['save', '']);
      });
    });

    it('loses its data on kill -9 + restart', async () => {
      await withClient(server.url, (client) => client.set('ephemeral', '1'));
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await server.kill();
      await server.restart();
      await withClient(server.url, async (client) =>
        expect(await client.get('ephemeral')).toBeNull(),
      );
    }, 15_000);
  });

  describe('eviction policy check', () => {
    it('refuses a server that may evict keys (allkeys-lru) with REDIS_EVICTION_POLICY', async () => {
      const { server, cleanup } = await launch({
        persistence: 'none',
        extraArgs: ['--maxmemory-policy', 'allkeys-lru'],
      });
      try {
        await withClient(server.url, async (client) => {
          await expect(assertRedisUsable(client)).rejects.toMatchObject({
            code: 'REDIS_EVICTION_POLICY',
            message: expect.stringContaining('allkeys-lru'),
          });
        });
      } finally {
        await cleanup();
      }
    });

    it('falls back to INFO memory when CONFIG is disabled, and still tells the policies apart', async () => {
      const noConfig = ['--rename-command', 'CONFIG', ''];
      const good = await launch({ persistence: 'none', extraArgs: noConfig });
      const bad = await launch({
        persistence: 'none',
        extraArgs: [...noConfig, '--maxmemory-policy', 'volatile-lru'],
      });
      try {
        await withClient(good.server.url, async (client) => {
          await expect(client.config('GET', 'maxmemory-policy')).rejects.toThrow(
            /unknown command/i,
          );
          await expect(assertRedisUsable(client)).resolves.toBe('noeviction');
        });
        await withClient(bad.server.url, (client) =>
          expect(assertRedisUsable(client)).rejects.toMatchObject({
            code: 'REDIS_EVICTION_POLICY',
            message: expect.stringContaining('volatile-lru'),
          }),
        );
      } finally {
        await Promise.all([good.cleanup(), bad.cleanup()]);
      }
    });
  });

  describe('failures', () => {
    it('a missing binary is REDIS_SERVER_NOT_FOUND, saying how to get one', async () => {
      const dir = await tempDir('redis-missing-');
      try {
        await expect(
          startPrivateRedis({
            dataDir: dir.path,
            persistence: 'aof',
            redisServerBin: join(dir.path, 'no-such-redis-server'),
          }),
        ).rejects.toMatchObject({
          code: 'REDIS_SERVER_NOT_FOUND',
          message: expect.stringMatching(/apt-get install redis-server[\s\S]*REDIS_URL/),
        });
      } finally {
        await dir.remove();
      }
    });

    it('a server that exits at start-up is REDIS_START_FAILED, with its own output in the message', async () => {
      await expect(launch({ extraArgs: ['--no-such-directive', 'x'] })).rejects.toMatchObject({
        code: 'REDIS_START_FAILED',
        message: expect.stringContaining('Bad directive'),
      });
    });

    it('a fixed port that is taken is REDIS_PORT_IN_USE, with the log tail', async () => {
      const first = await launch({ persistence: 'none' });
      try {
        await expect(
          launch({ persistence: 'none', port: first.server.port }),
        ).rejects.toMatchObject({
          code: 'REDIS_PORT_IN_USE',
          message: expect.stringMatching(/already in use[\s\S]*log \(/),
        });
      } finally {
        await first.cleanup();
      }
    });

    it('gives up with REDIS_START_FAILED and the log tail when PING never succeeds in time', async () => {
      // A port nobody listens on can't be forced; a tiny timeout on a real start can.
      const port = await findFreePort();
      await expect(launch({ persistence: 'none', port, startTimeoutMs: 1 })).rejects.toMatchObject({
        code: 'REDIS_START_FAILED',
        message: expect.stringContaining(`did not answer PING on 127.0.0.1:${port} within 1 ms`),
      });
    });
  });

  describe('lifecycle', () => {
    it('stop() waits until the process is gone and is idempotent', async () => {
      const { server, cleanup } = await launch({ persistence: 'none' });
      const pid = server.pid;
      expect(isProcessRunning(pid)).toBe(true);
      await server.stop();
      expect(server.running).toBe(false);
      expect(isProcessRunning(pid)).toBe(false);
      await server.stop();
      await cleanup();
    });

    it('reports a crash it did not cause through onUnexpectedExit, and not the kills it was asked for', async () => {
      const { server, cleanup } = await launch({ persistence: 'none' });
      const exits: { code: number | null; signal: string | null }[] = [];
      server.onUnexpectedExit((exit) => exits.push(exit));
      try {
        await server.kill('SIGKILL');
        await server.restart();
        expect(exits).toEqual([]);

        process.kill(server.pid, 'SIGKILL');
        const deadline = Date.now() + 5_000;
        while (exits.length === 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 10));
        expect(exits).toEqual([{ code: null, signal: 'SIGKILL' }]);
        expect(server.running).toBe(false);
      } finally {
        await cleanup();
      }
    });

    it('the child does not outlive a parent process that exits without stopping it', async () => {
      const dir = await tempDir('redis-orphan-');
      try {
        const fixture = join(__dirname, 'fixtures', 'parent-with-redis.js');
        const parent = spawn(process.execPath, [fixture, dir.path], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let stdout = '';
        parent.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        const code = await new Promise<number | null>((resolve) => parent.once('exit', resolve));
        expect(code).toBe(0);
        const { pid } = JSON.parse(stdout) as { pid: number; port: number };

        const deadline = Date.now() + 5_000;
        while (isProcessRunning(pid) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 25));
        expect(isProcessRunning(pid)).toBe(false);
      } finally {
        await dir.remove();
      }
    }, 15_000);
  });
});
