// deploy/probe.js, the health probe the image runs for Docker and compose: run as Docker would (a
// child process; exit code 0 = healthy), against a real HTTP server, a private redis-server and
// real processes that look like the app's.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { findFreePort } from '@app/platform';
import { usePrivateRedis } from '../support/redis-harness';
import { makeTmpDir, removeTmpDir } from '../support/tmp-dir';

const PROBE = resolve(__dirname, '../../deploy/probe.js');

interface ProbeResult {
  code: number;
  stderr: string;
}

function probe(args: string[], env: Record<string, string>): Promise<ProbeResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [PROBE, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 15_000 },
      (error, _stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stderr });
      },
    );
  });
}

describe('deploy/probe.js', () => {
  describe('http', () => {
    let server: Server;
    let port: number;
    let status = 200;

    beforeAll(async () => {
      server = createServer((req, res) => {
        res.statusCode = req.url === '/health/live' || req.url === '/health/ready' ? status : 404;
        res.end('{}');
      });
      await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((closed) => server.close(() => closed())));

    it('is healthy when GET /health/live on PORT answers 200', async () => {
      status = 200;
      expect(await probe(['http'], { PORT: String(port) })).toEqual({ code: 0, stderr: '' });
    });

    it('probes another path when asked', async () => {
      status = 200;
      expect((await probe(['http', '/health/ready'], { PORT: String(port) })).code).toBe(0);
      expect((await probe(['http', '/nope'], { PORT: String(port) })).code).toBe(1);
    });

    it('is unhealthy on a 503, saying why', async () => {
      status = 503;
      const result = await probe(['http'], { PORT: String(port) });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('answered 503');
    });

    it('probes another port when given one (the worker health port)', async () => {
      status = 200;
      const free = await findFreePort();
      const result = await probe(['http', '/health/ready', String(port)], { PORT: String(free) });
      expect(result).toEqual({ code: 0, stderr: '' });
    });

    it('is unhealthy when nothing listens', async () => {
      const free = await findFreePort();
      const result = await probe(['http'], { PORT: String(free) });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('ECONNREFUSED');
    });
  });

  describe('redis', () => {
    const redis = usePrivateRedis({ persistence: 'none' });

    it('is healthy when Redis answers PING', async () => {
      expect(await probe(['redis'], { REDIS_URL: redis.url })).toEqual({ code: 0, stderr: '' });
    });

    it('is unhealthy when Redis is unreachable or REDIS_URL unset', async () => {
      const free = await findFreePort();
      expect((await probe(['redis'], { REDIS_URL: `redis://127.0.0.1:${free}` })).code).toBe(1);
      const unset = await probe(['redis'], {});
      expect(unset.code).toBe(1);
      expect(unset.stderr).toContain('REDIS_URL is unset');
    });
  });

  describe('process and auto', () => {
    let dir: string;
    const started: ChildProcess[] = [];

    /** A node process whose command line looks like the app's: node <dir>/dist/apps/<app>/src/main.js */
    async function fakeApp(app: string): Promise<ChildProcess> {
      const main = join(dir, 'dist', 'apps', app, 'src', 'main.js');
      mkdirSync(join(main, '..'), { recursive: true });
      writeFileSync(main, 'setInterval(() => {}, 1000);\n');
      const child = spawn(process.execPath, [main], { stdio: 'ignore' });
      started.push(child);
      await new Promise((running) => child.once('spawn', running));
      return child;
    }

    beforeAll(() => {
      dir = makeTmpDir('probe-');
    });
    afterAll(() => {
      for (const child of started) child.kill('SIGKILL');
      removeTmpDir(dir);
    });

    it('process: healthy while the worker runs, unhealthy while it is stopped (SIGSTOP)', async () => {
      const worker = await fakeApp('worker');
      const env = { PROBE_PID: String(worker.pid) };
      expect(await probe(['process'], env)).toEqual({ code: 0, stderr: '' });
      worker.kill('SIGSTOP');
      try {
        const stopped = await probe(['process'], env);
        expect(stopped.code).toBe(1);
        expect(stopped.stderr).toContain('worker');
      } finally {
        worker.kill('SIGCONT');
      }
      expect((await probe(['process'], env)).code).toBe(0);
    });

    it('process: unhealthy when the pid is not the app', async () => {
      expect((await probe(['process'], { PROBE_PID: String(process.pid) })).code).toBe(1);
    });

    it('auto: a worker is probed on its health port (GET /health/ready on WORKER_HEALTH_PORT)', async () => {
      const worker = await fakeApp('worker');
      let status = 200;
      const paths: string[] = [];
      const server: Server = createServer((req, res) => {
        paths.push(req.url ?? '');
        res.statusCode = status;
        res.end('{}');
      });
      await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
      const env = {
        PROBE_PID: String(worker.pid),
        WORKER_HEALTH_PORT: String((server.address() as AddressInfo).port),
      };
      try {
        expect(await probe(['auto'], env)).toEqual({ code: 0, stderr: '' });
        status = 503;
        const unready = await probe(['auto'], env);
        expect(unready.code).toBe(1);
        expect(unready.stderr).toContain('/health/ready');
        expect(paths).toEqual(['/health/ready', '/health/ready']);
      } finally {
        await new Promise<void>((closed) => server.close(() => closed()));
      }
    });

    it('auto: a worker with WORKER_HEALTH_PORT off (or 0) needs its process and Redis', async () => {
      const worker = await fakeApp('worker');
      const free = await findFreePort();
      for (const setting of ['off', '0']) {
        const result = await probe(['auto'], {
          PROBE_PID: String(worker.pid),
          WORKER_HEALTH_PORT: setting,
          REDIS_URL: `redis://127.0.0.1:${free}`,
        });
        expect([setting, result.code]).toEqual([setting, 1]);
        expect(result.stderr).toContain('Redis');
      }
    });

    it('auto: an api is probed over HTTP; the one-shot ops CLI is always healthy', async () => {
      const api = await fakeApp('api');
      const free = await findFreePort();
      const result = await probe([], { PROBE_PID: String(api.pid), PORT: String(free) });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('/health/live');
      const ops = await fakeApp('ops');
      expect((await probe(['auto'], { PROBE_PID: String(ops.pid) })).code).toBe(0);
    });
  });

  it('refuses an unknown mode', async () => {
    const result = await probe(['nope'], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown mode nope');
  });
});
