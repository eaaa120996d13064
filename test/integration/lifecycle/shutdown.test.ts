import { createRedisConnection, findFreePort } from '@app/platform';
import { SCHEDULER_SUBSCRIPTION, ScheduleTable } from '@app/scheduling';
import { seedDataDir } from '../ops/seed-log';
import { registrationBody } from '../../support/app-harness';
import { listening } from '../../support/processes';
import { usePrivateRedis } from '../../support/redis-harness';
import { useTmpDir } from '../../support/tmp-dir';
import { deleteKeys, freshPrefix } from './lifecycle-harness';
import { API_MAIN, WorkerProcess } from './worker-process';

/**
 * Process shutdown on real processes (apps/api and apps/worker main.ts) against a private
 * redis-server: readiness fails from the first moment of SIGTERM while the process still serves
 * for SHUTDOWN_DRAIN_MS, and a Redis that stops answering never holds the shutdown up.
 */

async function get(url: string, init: RequestInit = {}) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
}

const SHUTTING_DOWN = {
  error: {
    code: 'SERVICE_UNAVAILABLE',
    message: 'Not ready: shutting down.',
    details: { shutdown: 'in progress' },
  },
};

/** Long enough for the probes below on a loaded 2-core machine; the test waits it out. */
const DRAIN_MS = 4000;

describe('SIGTERM with SHUTDOWN_DRAIN_MS: /health/ready answers 503 at once, the process keeps serving through the drain, then exits 0', () => {
  const redis = usePrivateRedis({ persistence: 'aof' });
  const tmp = useTmpDir('sub-eol-shutdown-drain-');
  let service: WorkerProcess | undefined;
  let prefix = '';
  afterEach(async () => {
    await service?.kill('SIGKILL');
    service = undefined;
    await deleteKeys(redis.url, prefix);
  });

  it('the api (api and lifecycle in one process): not ready while live, a registration still succeeds during the drain, exit code 0', async () => {
    prefix = freshPrefix();
    const port = await findFreePort();
    service = new WorkerProcess(
      {
        DATA_DIR: tmp(),
        PORT: String(port),
        REDIS_URL: redis.url,
        LIFECYCLE_QUEUE_PREFIX: prefix,
        SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
      },
      undefined,
      API_MAIN,
    );
    await service.waitFor(/api listening/);
    const base = `http://127.0.0.1:${port}`;
    expect((await get(`${base}/health/ready`)).status).toBe(200);

    process.kill(service.pid, 'SIGTERM');
    await service.waitFor(/shutting down/);
    expect(await get(`${base}/health/ready`)).toEqual({ status: 503, body: SHUTTING_DOWN });
    expect(await get(`${base}/health/live`)).toEqual({ status: 200, body: { status: 'ok' } });
    const registered = await get(`${base}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: 'Bearer dev-token', 'content-type': 'application/json' },
      body: JSON.stringify(registrationBody({ subscriptionId: 'sub_draining', autoRenew: false })),
    });
    expect(registered.status).toBe(201);
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(await listening(port)).toBe(false);
    const log = service.lines.join('\n');
    expect(log).toContain('lifecycle stopped');
    expect(log).toContain('shutdown complete');
  }, 60_000);

  it('the standalone worker: its health port answers /health/ready 503 while /health/live and /metrics answer 200 during the drain, exit code 0', async () => {
    prefix = freshPrefix();
    service = new WorkerProcess({
      DATA_DIR: tmp(),
      REDIS_URL: redis.url,
      LIFECYCLE_QUEUE_PREFIX: prefix,
      SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
    });
    const started = JSON.parse(await service.waitFor(/"worker started"/)) as { healthPort: number };
    const base = `http://127.0.0.1:${started.healthPort}`;
    expect((await get(`${base}/health/ready`)).status).toBe(200);

    process.kill(service.pid, 'SIGTERM');
    await service.waitFor(/shutting down/);
    expect(await get(`${base}/health/ready`)).toEqual({ status: 503, body: SHUTTING_DOWN });
    expect(await get(`${base}/health/live`)).toEqual({ status: 200, body: { status: 'ok' } });
    const metrics = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE subscriptions_lifecycle_jobs_total ');
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(await listening(started.healthPort)).toBe(false);
    expect(service.lines.join('\n')).toContain('lifecycle stopped');
  }, 60_000);
});

/** Generous: "promptly" means seconds, where Kubernetes would wait out the grace period. */
const PROMPT_EXIT_MS = 10_000;

describe('SIGTERM while Redis does not answer: the worker exits promptly with code 0', () => {
  const redis = usePrivateRedis({ persistence: 'aof' });
  const tmp = useTmpDir('sub-eol-shutdown-redis-');
  let service: WorkerProcess | undefined;
  let prefix = '';
  const stopRedis = () => process.kill(redis.pid, 'SIGSTOP');
  const resumeRedis = () => process.kill(redis.pid, 'SIGCONT');
  afterEach(async () => {
    resumeRedis();
    await service?.kill('SIGKILL');
    service = undefined;
    await deleteKeys(redis.url, prefix);
  });

  async function stopWithin(worker: WorkerProcess, boundMs: number) {
    const sent = Date.now();
    process.kill(worker.pid, 'SIGTERM');
    const exit = await Promise.race([
      worker.exited,
      new Promise<'still running'>((r) => setTimeout(() => r('still running'), boundMs)),
    ]);
    return { exit, tookMs: Date.now() - sent };
  }

  it('Redis stopped (SIGSTOP) during the start-up reconcile: the reconcile and the scheduler batch are abandoned, nothing is checkpointed, and the next start schedules every job', async () => {
    prefix = freshPrefix();
    const dir = tmp();
    const seeded = await seedDataDir(dir, 400);
    expect(seeded.subscriptions).toBeGreaterThan(0);

    // Redis answers reads (the start-up checks, PING) but holds every write, as an overloaded or
    // failing Redis may: the scheduler's first batch cannot add its jobs, so the start-up
    // reconcile waits for the scheduler to catch up. Then Redis stops answering anything.
    const admin = createRedisConnection(redis.url, { forWorker: false });
    try {
      await admin.call('CLIENT', 'PAUSE', '120000', 'WRITE');
      const env = { DATA_DIR: dir, REDIS_URL: redis.url, LIFECYCLE_QUEUE_PREFIX: prefix };
      service = new WorkerProcess(env);
      await service.waitFor(/"worker started"/);
      await new Promise((r) => setTimeout(r, 500));
      stopRedis();
      expect(service.lines.join('\n')).not.toMatch(/lifecycle reconciler: (all|recreated)/);

      const { exit, tookMs } = await stopWithin(service, PROMPT_EXIT_MS);
      expect([exit, tookMs < PROMPT_EXIT_MS]).toEqual([{ code: 0, signal: null }, true]);
      const log = service.lines.join('\n');
      expect(log).toContain('lifecycle reconciler: cut short by the shutdown');
      expect(log).toContain('lifecycle stopped');
      expect(log).not.toMatch(/unhandled|uncaught/i);

      // Nothing was written to Redis, so nothing may be recorded as done.
      const table = await ScheduleTable.open({ dataDir: dir });
      try {
        expect(await table.checkpointStore().load(SCHEDULER_SUBSCRIPTION)).toBeNull();
        expect(await table.allDesiredJobs()).toEqual([]);
      } finally {
        await table.close();
      }
    } finally {
      resumeRedis();
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }

    // Redis answers again: the next start delivers the batch again, then reconciles.
    service = new WorkerProcess({
      DATA_DIR: dir,
      REDIS_URL: redis.url,
      LIFECYCLE_QUEUE_PREFIX: prefix,
    });
    const reconciled = await service.waitFor(/lifecycle reconciler: (all|recreated)/);
    const report = (JSON.parse(reconciled) as { reconcile: { desired: number; caughtUp: boolean } })
      .reconcile;
    expect([report.desired > 0, report.caughtUp]).toEqual([true, true]);
    await service.kill('SIGTERM');
    expect(await service.exited).toEqual({ code: 0, signal: null });
    const table = await ScheduleTable.open({ dataDir: dir });
    try {
      expect(await table.checkpointStore().load(SCHEDULER_SUBSCRIPTION)).not.toBeNull();
    } finally {
      await table.close();
    }
  }, 90_000);

  it('Redis answering but slow (writes held 4 s after SIGTERM): the shutdown waits past 2 s for the scheduler batch, which completes and is checkpointed; exit 0', async () => {
    prefix = freshPrefix();
    const dir = tmp();
    await seedDataDir(dir, 400);
    const admin = createRedisConnection(redis.url, { forWorker: false });
    try {
      // PING and reads are answered; the first batch's job writes wait until UNPAUSE.
      await admin.call('CLIENT', 'PAUSE', '120000', 'WRITE');
      service = new WorkerProcess({
        DATA_DIR: dir,
        REDIS_URL: redis.url,
        LIFECYCLE_QUEUE_PREFIX: prefix,
      });
      await service.waitFor(/"worker started"/);
      await new Promise((r) => setTimeout(r, 500));
      const worker = service;
      const sent = Date.now();
      process.kill(worker.pid, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 4000));
      await admin.call('CLIENT', 'UNPAUSE');
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - sent).toBeGreaterThan(4000);
      const log = worker.lines.join('\n');
      expect(log).not.toContain('dropping the queue connection');
      expect(log).toContain('lifecycle stopped');
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }
    // The batch in hand was finished, its jobs are in Redis, and its checkpoint saved.
    const table = await ScheduleTable.open({ dataDir: dir });
    try {
      expect(await table.checkpointStore().load(SCHEDULER_SUBSCRIPTION)).not.toBeNull();
      expect((await table.allDesiredJobs()).length).toBeGreaterThan(0);
    } finally {
      await table.close();
    }
  }, 90_000);

  it('Redis stopped (SIGSTOP) before the worker starts: the start-up waiting for Redis is interrupted, the process exits 0 without having started', async () => {
    prefix = freshPrefix();
    stopRedis();
    service = new WorkerProcess({
      DATA_DIR: tmp(),
      REDIS_URL: redis.url,
      LIFECYCLE_QUEUE_PREFIX: prefix,
    });
    // The kernel accepts the connection; no answer comes, so the start-up checks wait.
    await service.waitFor(/lifecycle: connecting to Redis/);
    await new Promise((r) => setTimeout(r, 1000));
    expect(service.lines.join('\n')).not.toContain('worker started');

    const { exit, tookMs } = await stopWithin(service, PROMPT_EXIT_MS);
    expect([exit, tookMs < PROMPT_EXIT_MS]).toEqual([{ code: 0, signal: null }, true]);
    const log = service.lines.join('\n');
    expect(log).toContain('shutting down');
    expect(log).not.toContain('worker started');
    expect(log).not.toMatch(/unhandled|uncaught/i);
  }, 60_000);
});
