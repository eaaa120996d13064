// deploy/probe.js, the health probe the image runs for Docker, compose and Kubernetes: run as the
// kubelet or Docker would (a child process; exit code 0 = healthy), against a real HTTP server, a
// private redis-server and real processes that look like the app's.
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

    it('auto: a worker needs its process and Redis', async () => {
      const worker = await fakeApp('worker');
      const free = await findFreePort();
      const result = await probe(['auto'], {
        PROBE_PID: String(worker.pid),
        REDIS_URL: `redis://127.0.0.1:${free}`,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Redis');
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
