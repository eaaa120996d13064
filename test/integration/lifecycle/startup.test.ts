import { DateTime } from 'luxon';
import { createRedisConnection, findFreePort, SystemClock } from '@app/platform';
import { LifecycleService, termEndJobId } from '@app/scheduling';
import { registrationBody } from '../../support/fixtures';
import { listening } from '../../support/processes';
import { usePrivateRedis } from '../../support/redis-harness';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import {
  jobIds,
  type LifecycleApp,
  register,
  scheduled,
  startLifecycleApp,
  until,
} from './lifecycle-harness';
import { API_MAIN, WorkerProcess } from './worker-process';

// Started on Jan 10 at 10:30 in Rome: the term ends on Feb 10 at 09:30 UTC, half an hour after the
// harness's clock (within the 48 h horizon, so its job goes into Redis at once).
const FEB_10 = Date.parse('2026-02-10T09:30:00.000Z');
const NEAR = { termStart: '2026-01-10T10:30:00+01:00' };

describe('lifecycle start-up and Redis', () => {
  it('REDIS_URL unset: the app starts its own redis-server (AOF everysec, noeviction) under DATA_DIR/redis and stops it on shutdown', async () => {
    const t = await startLifecycleApp({ redisUrl: null });
    const server = t.lifecycle.redis.privateServer!;
    try {
      expect(server.dataDir).toBe(`${t.dataDir}/redis`);
      const redis = createRedisConnection(server.url, { forWorker: false });
      const config = async (name: string) => (await redis.config('GET', name))[1];
      expect([
        await config('appendonly'),
        await config('appendfsync'),
        await config('maxmemory-policy'),
      ]).toEqual(['yes', 'everysec', 'noeviction']);
      redis.disconnect();
      await register(t, { ...NEAR, subscriptionId: 'sub_own' });
      await scheduled(t);
      expect(await jobIds(t, 'term-end')).toEqual([termEndJobId('sub_own', FEB_10)]);
    } finally {
      await t.close();
    }
    expect(server.running).toBe(false);
    expect(await listening(server.port)).toBe(false);
  });

  describe('with a Redis that may evict keys', () => {
    const lru = usePrivateRedis({ extraArgs: ['--maxmemory-policy', 'allkeys-lru'] });
    it('refuses to start, saying why', async () => {
      await expect(startLifecycleApp({ redisUrl: lru.url })).rejects.toMatchObject({
        code: 'REDIS_EVICTION_POLICY',
        message: expect.stringContaining('noeviction'),
      });
    });
  });

  it('refuses to run the api or the worker apart without a shared REDIS_URL', async () => {
    const dir = makeTmpDir('sub-eol-roles-');
    try {
      await expect(
        startLifecycleApp({ redisUrl: null, dataDir: dir, lifecycle: { role: 'api' } }),
      ).rejects.toMatchObject({ code: 'REDIS_URL_REQUIRED' });
      await expect(
        startLifecycleApp({ redisUrl: null, dataDir: dir, lifecycle: { role: 'worker' } }),
      ).rejects.toMatchObject({ code: 'REDIS_URL_REQUIRED' });
    } finally {
      removeTmpDir(dir);
    }
  });

  describe('Redis going away', () => {
    const redis = usePrivateRedis({ persistence: 'aof' });
    let t: LifecycleApp;
    afterEach(() => t.close());

    it('/health/ready answers 503 (redis down) while Redis is unreachable, 200 once it is back', async () => {
      t = await startLifecycleApp({ redisUrl: redis.url, clock: new SystemClock() });
      const ready = () => t.app.inject({ method: 'GET', url: '/health/ready' });
      expect((await ready()).json()).toMatchObject({ checks: { eventStore: 'up', redis: 'up' } });
      await redis.kill('SIGKILL');
      const down = await ready();
      expect(down.statusCode).toBe(503);
      expect(down.json().error).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        details: { redis: 'down' },
      });
      await redis.restart();
      await until(async () => (await ready()).statusCode === 200, 'ready again');
    });

    it('the scheduler checkpoint does not pass an event whose jobs are not in Redis; they arrive when Redis is back', async () => {
      t = await startLifecycleApp({ redisUrl: redis.url, clock: new SystemClock() });
      await t.lifecycle.scheduler!.waitCaughtUp();
      const before = t.lifecycle.scheduler!.position;
      await redis.kill('SIGKILL');
      // A term end an hour away on the real clock: within the horizon, so its job goes to Redis.
      const termStart = DateTime.utc().minus({ months: 1 }).plus({ hours: 1 }).startOf('second');
      await register(t, {
        subscriptionId: 'sub_down',
        termStart: termStart.toISO({ suppressMilliseconds: true }),
        timeZone: 'UTC',
      });
      await new Promise((r) => setTimeout(r, 1500));
      expect(t.lifecycle.scheduler!.position).toBe(before);
      expect(await t.lifecycle.scheduler!.lag()).toBeGreaterThan(0n);
      await redis.restart();
      await scheduled(t);
      expect(t.lifecycle.scheduler!.position).not.toBe(before);
      const row = (await t.app.get(LifecycleService).lifecycle.table!.get('sub_down'))!;
      expect(await jobIds(t, 'term-end')).toContain(row.jobs[0]!.jobId);
    }, 60_000);
  });

  it('npm start: the api entry point runs api and worker in one process on the embedded defaults, and stops its redis-server on SIGTERM', async () => {
    const dir = makeTmpDir('sub-eol-npm-start-');
    const port = await findFreePort();
    const service = new WorkerProcess(
      { DATA_DIR: dir, PORT: String(port), LOG_LEVEL: 'info' },
      undefined,
      API_MAIN,
    );
    try {
      const started = await service.waitFor(/started a private redis-server/);
      const redisPort = (JSON.parse(started) as { port: number }).port;
      await service.waitFor(/api listening/);
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(await ready.json()).toMatchObject({ checks: { redis: 'up' } });
      const reg = await fetch(`http://127.0.0.1:${port}/v1/subscriptions`, {
        method: 'POST',
        headers: { authorization: 'Bearer dev-token', 'content-type': 'application/json' },
        // A term end an hour away: within the 48 h horizon, so its job goes into Redis at once.
        body: JSON.stringify(
          registrationBody({
            subscriptionId: 'sub_npm',
            autoRenew: false,
            termStart: DateTime.utc()
              .minus({ months: 1 })
              .plus({ hours: 1 })
              .startOf('second')
              .toISO({ suppressMilliseconds: true }),
            timeZone: 'UTC',
          }),
        ),
      });
      expect(reg.status).toBe(201);
      // The worker part of the same process scheduled the job.
      const redis = createRedisConnection(`redis://127.0.0.1:${redisPort}`, { forWorker: false });
      try {
        await until(
          async () => (await redis.keys('bull:lifecycle-*:*sub_npm*')).length > 0,
          'a lifecycle job for sub_npm in the private Redis',
        );
      } finally {
        redis.disconnect();
      }
      await service.kill('SIGTERM');
      expect(await listening(redisPort)).toBe(false);
      expect(service.lines.join('\n')).toContain('lifecycle stopped');
    } finally {
      await service.kill('SIGKILL');
      removeTmpDir(dir);
    }
  }, 60_000);
});
