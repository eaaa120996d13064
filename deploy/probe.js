// Health probe for the processes of the image (deploy/Dockerfile copies it to /app/probe.js).
// Used by the Dockerfile HEALTHCHECK and docker-compose.yml; plain Node (the slim image has no
// curl). Exit 0: healthy; exit 1: not, with the reason on stderr. (Kubernetes probes api and
// worker with httpGet on their ports instead.)
//
//   node probe.js http [path] [port]  GET http://127.0.0.1:<port><path> answers 2xx (path default
//                                     /health/live, port default $PORT, else 3000)
//   node probe.js redis               PING on $REDIS_URL answers (redis+sentinel://: the master)
//   node probe.js process             the app's main process runs and is not stopped (SIGSTOP)
//   node probe.js [auto]              by the process this container runs: api -> http; worker ->
//                                     GET /health/ready on $WORKER_HEALTH_PORT (default 9464),
//                                     or, with that port off or 0, process + redis; ops (a
//                                     one-shot CLI) -> healthy
//
// The app process is found in /proc by its command line; PROBE_PID names it instead (tests, or a
// container that starts it some other way). PROBE_TIMEOUT_MS: default 4000.
//
// An HTTP answer proves the process's event loop runs; a process that is alive but hung (or
// stopped) accepts the connection and never answers: the probe times out.
'use strict';

const { readFileSync, readdirSync } = require('node:fs');
const http = require('node:http');

const TIMEOUT_MS = Number(process.env.PROBE_TIMEOUT_MS) || 4000;
const APP_MAIN = /dist\/apps\/([\w-]+)\/src\/main\.js/;

function fail(reason) {
  process.stderr.write(`unhealthy: ${reason}\n`);
  process.exit(1);
}

/** The command line of a process as its arguments, or null when it is gone. */
function cmdlineOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null;
  }
}

/** `node .../dist/apps/<app>/src/main.js ...` -> { pid, app }, else null. */
function asApp(pid) {
  const cmdline = cmdlineOf(pid);
  if (!cmdline || !/(^|\/)node$/.test(cmdline[0] ?? '')) return null;
  const main = cmdline.slice(1).find((arg) => APP_MAIN.test(arg));
  return main ? { pid, app: APP_MAIN.exec(main)[1] } : null;
}

/** The app process of this container: { pid, app: 'api' | 'worker' | 'ops' | ... } or null. */
function findApp() {
  if (process.env.PROBE_PID) return asApp(Number(process.env.PROBE_PID));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const found = asApp(Number(entry));
    if (found) return found;
  }
  return null;
}

/** State letter from /proc/<pid>/stat (R running, S sleeping, T stopped, Z zombie, ...). */
function stateOf(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 'gone';
  }
  return stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
}

function checkProcess() {
  const found = findApp();
  if (!found) return fail('no node dist/apps/<app>/src/main.js process in this container');
  const state = stateOf(found.pid);
  if (state === 'T' || state === 't' || state === 'Z' || state === 'gone')
    return fail(`${found.app} (pid ${found.pid}) is in state ${state}`);
  return Promise.resolve();
}

function checkHttp(path = '/health/live', port = Number(process.env.PORT) || 3000) {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path, timeout: TIMEOUT_MS }, (res) => {
        res.resume();
        if (res.statusCode >= 200 && res.statusCode < 300) resolve();
        else fail(`GET ${path} on port ${port} answered ${res.statusCode}`);
      })
      .on('timeout', () => fail(`GET ${path} on port ${port} timed out`))
      .on('error', (error) => fail(`GET ${path} on port ${port}: ${error.message}`));
  });
}

/**
 * ioredis options for REDIS_URL's sentinel form, redis+sentinel://[user:password@]host[:port][,...]
 * /<masterName>[/db][?db=&sentinelUsername=&sentinelPassword=] (rediss+sentinel: TLS). The app
 * validates the URL at start-up (libs/platform redis-url.ts); this plain-JS copy only has to
 * connect, and never prints the URL. Null for redis:// and rediss://.
 */
function sentinelOptions(url) {
  const m = /^(rediss?)\+sentinel:\/\/([^/?#]*)\/([^/?#]+)(?:\/(\d+))?(?:\?([^#]*))?$/i.exec(url);
  if (!/^rediss?\+sentinel:/i.test(url)) return null;
  if (!m) return fail('REDIS_URL is not a usable redis+sentinel:// URL');
  const at = m[2].lastIndexOf('@');
  const userinfo = at >= 0 ? m[2].slice(0, at) : '';
  const colon = userinfo.indexOf(':');
  const username = decodeURIComponent(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
  const password = colon >= 0 ? decodeURIComponent(userinfo.slice(colon + 1)) : '';
  const sentinels = m[2]
    .slice(at + 1)
    .split(',')
    .map((entry) => {
      const hp = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(entry) || [];
      return { host: hp[1] || hp[2], port: Number(hp[3] || 26379) };
    });
  const params = new URLSearchParams(m[5] || '');
  const options = {
    sentinels,
    name: decodeURIComponent(m[3]),
    db: Number(m[4] || params.get('db') || 0),
    sentinelRetryStrategy: () => null,
  };
  if (username) options.username = username;
  if (password) options.password = password;
  if (params.get('sentinelUsername')) options.sentinelUsername = params.get('sentinelUsername');
  if (params.get('sentinelPassword')) options.sentinelPassword = params.get('sentinelPassword');
  if (m[1].toLowerCase() === 'rediss') {
    options.tls = {};
    options.enableTLSForSentinelMode = true;
    options.sentinelTLS = {};
  }
  return options;
}

async function checkRedis() {
  const url = process.env.REDIS_URL;
  if (!url) return fail('REDIS_URL is unset');
  const { Redis } = require('ioredis');
  const common = {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  };
  const sentinel = sentinelOptions(url);
  const redis = sentinel ? new Redis({ ...sentinel, ...common }) : new Redis(url, common);
  redis.on('error', () => {}); // reported through the rejected promises below
  try {
    await redis.connect();
    const answer = await redis.ping();
    if (answer !== 'PONG') fail(`Redis answered ${answer} to PING`);
  } catch (error) {
    fail(`Redis: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    redis.disconnect();
  }
}

async function checkAuto() {
  const found = findApp();
  if (!found) return fail('no node dist/apps/<app>/src/main.js process in this container');
  if (found.app === 'api') return checkHttp();
  if (found.app === 'worker') {
    // The worker's health port (apps/worker, WORKER_HEALTH_PORT): readiness, as the process +
    // Redis check before it, plus the event store, the read store and a responsive event loop.
    const setting = (process.env.WORKER_HEALTH_PORT ?? '').trim() || '9464';
    if (setting !== 'off' && setting !== '0') return checkHttp('/health/ready', Number(setting));
    await checkProcess();
    return checkRedis();
  }
  // The ops CLI runs once and exits: nothing to probe.
}

const checks = {
  http: () => checkHttp(process.argv[3], Number(process.argv[4]) || undefined),
  redis: checkRedis,
  process: checkProcess,
  auto: checkAuto,
};

const mode = process.argv[2] ?? 'auto';
if (!Object.hasOwn(checks, mode))
  fail(`unknown mode ${mode}: use one of ${Object.keys(checks).join(', ')}`);
setTimeout(() => fail(`no answer within ${TIMEOUT_MS} ms`), TIMEOUT_MS + 1000).unref();
checks[mode]().then(
  () => process.exit(0),
  (error) => fail(error instanceof Error ? error.message : String(error)),
);
