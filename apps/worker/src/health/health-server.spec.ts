import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import pino from 'pino';
import { MetricsService } from '@app/metrics';
import type { ReadinessReport } from '@app/health';
import { HealthServer } from './health-server';

interface Answer {
  status: number;
  type: string | undefined;
  body: string;
}

function call(port: number, path: string, method = 'GET', agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, type: res.headers['content-type'], body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const UP: ReadinessReport = {
  ready: true,
  checks: { eventStore: 'up', redis: 'up' },
  message: 'ok',
};
const DOWN: ReadinessReport = {
  ready: false,
  checks: { eventStore: 'up', redis: 'down' },
  message: 'Not ready: redis not reachable.',
};

describe('HealthServer (the worker health and metrics port)', () => {
  let readiness: () => Promise<ReadinessReport>;
  let server: HealthServer;
  let port: number;
  const metrics = new MetricsService({ defaultMetrics: false });
  const logs: unknown[] = [];
  const logger = pino(
    { level: 'error' },
    { write: (line: string) => void logs.push(JSON.parse(line)) },
  );

  beforeEach(async () => {
    readiness = () => Promise.resolve(UP);
    logs.length = 0;
    server = new HealthServer({ readiness: () => readiness(), metrics, logger });
    port = await server.listen(0, '127.0.0.1');
  });
  afterEach(() => server.close(100));

  it('GET /health/live answers {status: ok}, query strings and HEAD included', async () => {
    expect(await call(port, '/health/live')).toEqual({
      status: 200,
      type: 'application/json; charset=utf-8',
      body: '{"status":"ok"}',
    });
    expect((await call(port, '/health/live?probe=1')).status).toBe(200);
    expect(await call(port, '/health/live', 'HEAD')).toMatchObject({ status: 200, body: '' });
  });

  it('GET /health/ready: 200 with the checks, or 503 SERVICE_UNAVAILABLE in the error shape of docs/http-api.md', async () => {
    const ok = await call(port, '/health/ready');
    expect([ok.status, JSON.parse(ok.body)]).toEqual([200, { status: 'ok', checks: UP.checks }]);
    readiness = () => Promise.resolve(DOWN);
    const down = await call(port, '/health/ready');
    expect([down.status, down.type, JSON.parse(down.body)]).toEqual([
      503,
      'application/json; charset=utf-8',
      {
        error: {
          code: 'SERVICE_UNAVAILABLE',
          message: 'Not ready: redis not reachable.',
          details: DOWN.checks,
        },
      },
    ]);
  });

  it('GET /metrics: the registry in Prometheus text format, with its content type', async () => {
    metrics.recordPurge('completed');
    const scrape = await call(port, '/metrics');
    expect([scrape.status, scrape.type]).toEqual([200, metrics.contentType]);
    expect(scrape.body).toContain('subscriptions_purges_total{outcome="completed"} 1');
  });

  it('anything else is 404 NOT_FOUND; a failing check is a 500 INTERNAL, logged', async () => {
    for (const [path, method] of [
      ['/', 'GET'],
      ['/health', 'GET'],
      ['/health/live', 'POST'],
      ['/metrics', 'DELETE'],
    ] as const) {
      const answer = await call(port, path, method);
      expect([path, method, answer.status, JSON.parse(answer.body)]).toEqual([
        path,
        method,
        404,
        { error: { code: 'NOT_FOUND', message: 'No such route.' } },
      ]);
    }
    readiness = () => Promise.reject(new Error('boom'));
    const failed = await call(port, '/health/ready');
    expect([failed.status, JSON.parse(failed.body).error.code]).toEqual([500, 'INTERNAL']);
    expect(logs).toEqual([expect.objectContaining({ msg: 'worker health port: request failed' })]);
  });

  it('close(): stops listening and drops idle keep-alive connections at once', async () => {
    const agent = new Agent({ keepAlive: true });
    await call(port, '/health/live', 'GET', agent); // leaves an idle connection open
    const started = Date.now();
    await server.close(5000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(server.port).toBeNull();
    await expect(call(port, '/health/live')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    agent.destroy();
  });

  it('close(): a request that never finishes holds it up for the bound only', async () => {
    readiness = () => new Promise(() => {}); // a check that hangs
    const hanging = call(port, '/health/ready').catch((error: unknown) => error);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await server.close(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await hanging).toMatchObject({ code: 'ECONNRESET' });
  });

  it('a port in use: listen() fails, naming WORKER_HEALTH_PORT', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    const busy = (taken.address() as { port: number }).port;
    try {
      const other = new HealthServer({ readiness: () => readiness(), metrics, logger });
      await expect(other.listen(busy, '127.0.0.1')).rejects.toThrow(
        `WORKER_HEALTH_PORT ${busy} is in use`,
      );
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
