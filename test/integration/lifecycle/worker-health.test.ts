import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Registry } from 'prom-client';
import { findFreePort } from '@app/platform';
import { listening } from '../../support/processes';
import { usePrivateRedis } from '../../support/redis-harness';
import { makeTmpDir, removeTmpDir, useTmpDir } from '../../support/tmp-dir';
import { deleteKeys, freshPrefix, until } from './lifecycle-harness';
import { API_MAIN, WorkerProcess } from './worker-process';

const PROBE = resolve(__dirname, '../../../deploy/probe.js');

/** GET with a deadline, as a kubelet httpGet probe or a Prometheus scrape does it. */
async function get(url: string, timeoutMs = 5000) {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), text };
}
const json = async (url: string, timeoutMs?: number) => {
  const r = await get(url, timeoutMs);
  return { status: r.status, type: r.type, body: JSON.parse(r.text) as unknown };
};

/** deploy/probe.js as Docker runs it: exit code 0 = healthy. */
function probe(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [PROBE, ...args],
      { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 15_000 },
      (error, _stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr }),
    );
  });
}

/**
 * The standalone worker (apps/worker/src/main.ts, what `npm run start:worker` runs) in its own
 * process against a private redis-server, probed over its health and metrics port as Kubernetes
 * and Prometheus do. Nothing is mocked.
 */
describe('the standalone worker: health and metrics port (WORKER_HEALTH_PORT)', () => {
  const redis = usePrivateRedis({ persistence: 'aof' });
  const tmp = useTmpDir('sub-eol-worker-health-');
  let worker: WorkerProcess | undefined;
  let prefix = '';
  afterEach(async () => {
    await worker?.kill('SIGKILL');
    worker = undefined;
    await deleteKeys(redis.url, prefix);
  });

  /** Starts the worker (WORKER_HEALTH_PORT=0 unless given) and returns its health port. */
  async function startWorker(env: Record<string, string> = {}): Promise<number> {
    prefix = freshPrefix();
    worker = new WorkerProcess({
      DATA_DIR: tmp(),
      REDIS_URL: redis.url,
      LIFECYCLE_QUEUE_PREFIX: prefix,
      ...env,
    });
    const started = JSON.parse(await worker.waitFor(/"worker started"/)) as { healthPort: number };
    return started.healthPort;
  }

  it('serves /health/live, /health/ready (event store, Redis, read store up) and /metrics (the worker registry, lifecycle metrics included)', async () => {
    const port = await startWorker();
    const base = `http://127.0.0.1:${port}`;
    expect(await json(`${base}/health/live`)).toEqual({
      status: 200,
      type: 'application/json; charset=utf-8',
      body: { status: 'ok' },
    });
    expect(await json(`${base}/health/ready`)).toEqual({
      status: 200,
      type: 'application/json; charset=utf-8',
      body: { status: 'ok', checks: { eventStore: 'up', redis: 'up', readStore: 'up' } },
    });
    // The reconciler runs once at start-up and counts into the process's registry.
    await worker!.waitFor(/lifecycle reconciler/);
    const metrics = await get(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.type).toBe(new Registry().contentType); // what the api's /metrics sends
    expect(metrics.text).toMatch(/^subscriptions_lifecycle_reconciler_runs_total 1$/m);
    for (const name of [
      'subscriptions_job_lag_seconds',
      'subscriptions_purges_total',
      'subscriptions_reconciler_repairs_total',
      'subscriptions_lifecycle_jobs_total',
      'subscriptions_nodejs_eventloop_lag_p99_seconds',
    ])
      expect(metrics.text).toContain(`# TYPE ${name} `);
    const unknown = await json(`${base}/v1/subscriptions`);
    expect([unknown.status, unknown.body]).toEqual([
      404,
      { error: { code: 'NOT_FOUND', message: 'No such route.' } },
    ]);
  });

  it('Redis stopped: /health/ready answers 503 naming redis while /health/live stays 200; ready again once Redis is back', async () => {
    const port = await startWorker();
    const base = `http://127.0.0.1:${port}`;
    await redis.kill('SIGKILL');
    try {
      const down = await json(`${base}/health/ready`);
      expect([down.status, down.body]).toEqual([
        503,
        {
          error: {
            code: 'SERVICE_UNAVAILABLE',
            message: 'Not ready: redis not reachable.',
            details: { eventStore: 'up', redis: 'down', readStore: 'up' },
          },
        },
      ]);
      // Liveness checks no dependency: a Redis outage must not restart workers.
      for (let i = 0; i < 3; i++) {
        expect(await json(`${base}/health/live`)).toMatchObject({ status: 200 });
        await new Promise((r) => setTimeout(r, 300));
      }
      expect((await json(`${base}/health/ready`)).status).toBe(503);
    } finally {
      await redis.restart();
    }
    await until(async () => (await get(`${base}/health/ready`)).status === 200, 'ready again');
  });

  it('SIGTERM during a Redis outage, after readiness probes: the worker closes its port and exits', async () => {
    const port = await startWorker();
    // Idle (the start-up reconcile done): what is pending then is the probes' doing.
    await worker!.waitFor(/lifecycle reconciler/);
    await redis.kill('SIGKILL');
    try {
      for (let i = 0; i < 3; i++)
        expect((await get(`http://127.0.0.1:${port}/health/ready`)).status).toBe(503);
      await worker!.kill('SIGTERM');
      expect(await worker!.exited).toEqual({ code: 0, signal: null });
      expect(await listening(port)).toBe(false);
    } finally {
      await redis.restart();
    }
  }, 60_000);

  it('a stopped process (SIGSTOP: alive, not running) does not answer /health/live within the probe timeout; after SIGCONT it does', async () => {
    const port = await startWorker();
    const url = `http://127.0.0.1:${port}/health/live`;
    // deploy/probe.js as compose runs it against the worker's port, with a 1 s timeout.
    const live = ['http', '/health/live', String(port)];
    const env = { PROBE_TIMEOUT_MS: '1000' };
    expect(await probe(live, env)).toEqual({ code: 0, stderr: '' });
    process.kill(worker!.pid, 'SIGSTOP');
    try {
      // The kernel still accepts the connection; nobody answers it.
      await expect(get(url, 1000)).rejects.toMatchObject({ name: 'TimeoutError' });
      const stopped = await probe(live, env);
      expect(stopped.code).toBe(1);
      expect(stopped.stderr).toContain('timed out');
    } finally {
      process.kill(worker!.pid, 'SIGCONT');
    }
    expect(await json(url)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect((await probe(live, env)).code).toBe(0);
  });

  it('WORKER_HEALTH_PORT=off: no port; a port in use: the worker refuses to start, saying so', async () => {
    expect(await startWorker({ WORKER_HEALTH_PORT: 'off' })).toBeNull();
    await worker!.kill('SIGTERM');

    const taken = createServer().listen(0, '0.0.0.0');
    await new Promise((r) => taken.once('listening', r));
    try {
      const busy = (taken.address() as { port: number }).port;
      worker = new WorkerProcess({
        DATA_DIR: tmp(),
        REDIS_URL: redis.url,
        LIFECYCLE_QUEUE_PREFIX: prefix,
        WORKER_HEALTH_PORT: String(busy),
      });
      expect((await worker.exited).code).toBe(1);
      expect(worker.lines.join('\n')).toContain(`WORKER_HEALTH_PORT ${busy} is in use`);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});

describe('npm start (api and worker in one process)', () => {
  it('opens no worker health port: the api port serves /health and /metrics, lifecycle metrics included', async () => {
    const dir = makeTmpDir('sub-eol-npm-start-health-');
    const [port, workerPort] = [await findFreePort(), await findFreePort()];
    const service = new WorkerProcess(
      { DATA_DIR: dir, PORT: String(port), WORKER_HEALTH_PORT: String(workerPort) },
      undefined,
      API_MAIN,
    );
    try {
      await service.waitFor(/api listening/);
      expect(await listening(workerPort)).toBe(false);
      expect(service.lines.join('\n')).not.toContain('worker health port');
      const base = `http://127.0.0.1:${port}`;
      expect(await json(`${base}/health/ready`)).toMatchObject({
        status: 200,
        body: { checks: { eventStore: 'up', redis: 'up', readStore: 'up' } },
      });
      await service.waitFor(/lifecycle reconciler/);
      expect((await get(`${base}/metrics`)).text).toMatch(
        /^subscriptions_lifecycle_reconciler_runs_total 1$/m,
      );
      await service.kill('SIGTERM');
    } finally {
      await service.kill('SIGKILL');
      removeTmpDir(dir);
    }
  }, 60_000);
});
