import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { LifecycleJobsAdmin } from '@app/ops';
import { assertRedisUsable, createRedisConnection, findFreePort, loadConfig } from '@app/platform';
import { LIFECYCLE_RUN_RETRY_DELAY_MS, LifecycleRedis } from '@app/scheduling';
import { startSentinelSetup, type SentinelSetup } from '../../support/redis-sentinel-harness';

/**
 * REDIS_URL in the sentinel form against real processes: a master, a replica and one sentinel
 * (quorum 1, down-after 1 s, failover-timeout 3 s), each a redis-server on a free port. The
 * failover is a real one: the master is SIGKILLed and the sentinel promotes the replica; it takes
 * about 2-4 s here (down-after 1 s plus the sentinel's election and promotion).
 */
describe('Redis through Sentinel (redis+sentinel://, real master, replica and sentinel)', () => {
  let setup: SentinelSetup;
  let dir: string;

  beforeAll(async () => {
    setup = await startSentinelSetup();
    dir = await mkdtemp(join(tmpdir(), 'sentinel-test-'));
  }, 30_000);

  afterAll(async () => {
    await setup?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('a connection through the sentinel reaches the master: PING, role:master on its port, the noeviction check', async () => {
    const redis = createRedisConnection(setup.url, { forWorker: false });
    try {
      expect(await redis.ping()).toBe('PONG');
      const replication = await redis.info('replication');
      expect(replication).toMatch(/^role:master/m);
      expect(replication).toMatch(/^connected_slaves:1/m);
      expect(await redis.info('server')).toMatch(
        new RegExp(`^tcp_port:${setup.master.port}\\b`, 'm'),
      );
      expect(await assertRedisUsable(redis)).toBe('noeviction');
    } finally {
      redis.disconnect();
    }
  });

  it('the job commands name the sentinels, never the password, when no sentinel answers (bounded)', async () => {
    const port = await findFreePort();
    const url = `redis+sentinel://app:hunter2-secret@127.0.0.1:${port}/nomaster`;
    const config = loadConfig({ DATA_DIR: dir, REDIS_URL: url });
    const started = Date.now();
    const error = (await LifecycleJobsAdmin.open(config, { answerTimeoutMs: 500 }).then(
      () => new Error('opened'),
      (e: unknown) => e,
    )) as Error;
    expect(error.message).toMatch(
      new RegExp(
        `^Redis at redis\\+sentinel://127\\.0\\.0\\.1:${port}/nomaster did not answer within 500 ms`,
      ),
    );
    expect(error.message).not.toContain('hunter2');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('deploy/probe.js redis: PING on the master through the sentinel; unhealthy without a sentinel, the password not shown', async () => {
    const probe = (url: string) =>
      new Promise<{ code: number; stderr: string }>((done) => {
        execFile(
          process.execPath,
          [resolve(__dirname, '../../../deploy/probe.js'), 'redis'],
          { env: { ...process.env, REDIS_URL: url, PROBE_TIMEOUT_MS: '2000' } },
          (error, _stdout, stderr) =>
            done({ code: error ? Number(error.code ?? 1) : 0, stderr: String(stderr) }),
        );
      });
    expect(await probe(setup.url)).toEqual({ code: 0, stderr: '' });
    const port = await findFreePort();
    const down = await probe(`redis+sentinel://app:hunter2-secret@127.0.0.1:${port}/nomaster`);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^unhealthy: /);
    expect(down.stderr).not.toContain('hunter2');
  });

  it('failover: the lifecycle connections (producer and worker) follow the promoted replica; delayed jobs added before are there, a job added after runs', async () => {
    // The service's own start-up path: sentinel URL -> connections, noeviction check, listpack hint.
    const lifecycle = await LifecycleRedis.open({
      url: setup.url,
      dataDir: dir,
      logger: pino({ level: 'silent' }),
      forWorkers: true,
    });
    const prefix = 'sentinel-test';
    const queueName = 'term-end';
    const queue = new Queue(queueName, { connection: lifecycle.connection, prefix });
    queue.on('error', () => undefined);
    const processed: string[] = [];
    let worker: Worker | undefined;
    try {
      const before = ['term-end-sub_1-1767225600000', 'term-end-sub_2-1767312000000'];
      for (const id of before)
        await queue.add(
          queueName,
          { subscriptionId: id.split('-')[2] },
          { jobId: id, delay: 3_600_000 },
        );
      // The replica has them before the master dies (replication is asynchronous).
      expect(await lifecycle.connection.call('WAIT', 1, 2000)).toBe(1);

      let resolveAfter: (job: Job) => void = () => undefined;
      const afterRan = new Promise<Job>((resolve) => (resolveAfter = resolve));
      worker = new Worker(
        queueName,
        async (job: Job) => {
          processed.push(job.id ?? '?');
          if (job.id === 'term-end-sub_3-1767398400000') resolveAfter(job);
          return 'done';
        },
        // As the service's lifecycle workers: a fetch that failed on the dead master is tried
        // again after 2 s (BullMQ's default, 15 s, raced this test's wait below).
        {
          connection: lifecycle.workerConnection!,
          prefix,
          runRetryDelay: LIFECYCLE_RUN_RETRY_DELAY_MS,
        },
      );
      // What the connections went through, printed should the job not run.
      const started = Date.now();
      const trail: string[] = [];
      const note = (what: string) => trail.push(`${Date.now() - started} ms ${what}`);
      worker.on('error', (e) => note(`worker error: ${e.message}`));
      await worker.waitUntilReady();
      // BullMQ's own connection for BZPOPMIN (a duplicate of the worker connection).
      const blocking = await (worker as unknown as { backend: { blockingClient: Promise<Redis> } })
        .backend.blockingClient;
      for (const [name, client] of [
        ['producer', lifecycle.connection],
        ['worker', lifecycle.workerConnection!],
        ['blocking', blocking],
      ] as const)
        for (const event of ['close', 'reconnecting', 'ready', '+switch-master'])
          client.on(event, (arg: unknown) =>
            note(`${name} ${event}${typeof arg === 'number' ? ` ${arg} ms` : ''}`),
          );

      const killedAt = Date.now();
      await setup.master.kill('SIGKILL');
      // Generous: a few seconds here, but the sentinel retries a failed attempt only after
      // 2 × failover-timeout, and a busy CI machine has been slower (the log says why on failure).
      await setup.waitForMaster(setup.replica.port, 40_000);
      const failoverMs = Date.now() - killedAt;
      note(`replica promoted (${failoverMs} ms after the kill)`);
      process.stdout.write(`sentinel failover: replica promoted ${failoverMs} ms after the kill\n`);

      // Same Queue, same connections as before the failover.
      for (const id of before) expect(await (await queue.getJob(id))?.getState()).toBe('delayed');
      note('adding the job');
      await queue.add(
        queueName,
        { subscriptionId: 'sub_3' },
        { jobId: 'term-end-sub_3-1767398400000' },
      );
      const job = await Promise.race([
        afterRan,
        new Promise<never>((_, reject) =>
          setTimeout(
            () =>
              reject(
                new Error(
                  `the job added after the failover did not run; the connections:\n${trail.join('\n')}`,
                ),
              ),
            15_000,
          ),
        ),
      ]);
      expect(job.data).toEqual({ subscriptionId: 'sub_3' });
      expect(processed).toEqual(['term-end-sub_3-1767398400000']);
      expect(await lifecycle.connection.info('server')).toMatch(
        new RegExp(`^tcp_port:${setup.replica.port}\\b`, 'm'),
      );
      expect(await lifecycle.workerConnection!.info('replication')).toMatch(/^role:master/m);
      expect(await lifecycle.ping()).toBe(true);
      expect(failoverMs).toBeLessThan(40_000);
    } finally {
      // Forced: a worker blocked on a master that never came back must not hang the test and
      // hide the failure above. Its blocking connection may still be reconnecting through the
      // sentinel (a late +switch-master): BullMQ then rejects the close with "Connection is
      // closed" once it is dropped, which is no failure of what this test checks (it failed two
      // clean-clone CI runs under load after every assertion above had passed).
      await worker?.close(true).catch(() => undefined);
      // The same for the queue on the shared connection (a third clean-clone CI run failed with
      // "Connection is closed" from the sentinel connector after the failover, not reproduced
      // alone in 4 runs; where it was raised is not known).
      await queue.close().catch(() => undefined);
      await lifecycle.close();
    }
  }, 90_000);
});
