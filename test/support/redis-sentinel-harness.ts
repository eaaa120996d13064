import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { findFreePort, startPrivateRedis, type PrivateRedis } from '@app/platform';
import { stopChildProcess } from './processes';

export interface SentinelSetupOptions {
  /** Master group name; default `eolmaster`. */
  masterName?: string;
  /** Sentinel `down-after-milliseconds`; default 1000. */
  downAfterMs?: number;
  /** Sentinel `failover-timeout`; default 3000. */
  failoverTimeoutMs?: number;
}

export interface SentinelSetup {
  /** REDIS_URL in the sentinel form: `redis+sentinel://127.0.0.1:<sentinel port>/<masterName>`. */
  readonly url: string;
  readonly masterName: string;
  readonly sentinelPort: number;
  /** The server started as master (dies in failover tests). */
  readonly master: PrivateRedis;
  /** The server started with --replicaof master. */
  readonly replica: PrivateRedis;
  /** Port of the master the sentinel reports now. */
  masterPort(): Promise<number>;
  /** Waits until the sentinel reports the master on `port` (after a failover). */
  waitForMaster(port: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/**
 * A master, a replica (`--replicaof`) and one sentinel (quorum 1), each a private process on a
 * free port under a temp dir. Master and replica come from the app's own launcher (AOF,
 * noeviction); the sentinel is `redis-server <conf> --sentinel` with small timings so that a
 * failover takes a few seconds. Resolves once the replica is in sync and the sentinel knows it.
 */
export async function startSentinelSetup(
  options: SentinelSetupOptions = {},
): Promise<SentinelSetup> {
  const masterName = options.masterName ?? 'eolmaster';
  const dir = await mkdtemp(join(tmpdir(), 'redis-sentinel-'));
  const started: PrivateRedis[] = [];
  let sentinel: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (sentinel) await stopChildProcess(sentinel, 5000);
    await Promise.all(started.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const master = await startPrivateRedis({ dataDir: join(dir, 'master'), persistence: 'aof' });
    started.push(master);
    const replica = await startPrivateRedis({
      dataDir: join(dir, 'replica'),
      persistence: 'aof',
      extraArgs: ['--replicaof', HOST, String(master.port)],
    });
    started.push(replica);
    await until('the replica to sync with the master', 10_000, async () =>
      withRedis(replica.port, async (r) =>
        /master_link_status:up/.test(await r.info('replication')),
      ),
    );

    const sentinelDir = join(dir, 'sentinel');
    await mkdir(sentinelDir);
    const sentinelPort = await findFreePort(HOST);
    const conf = join(sentinelDir, 'sentinel.conf');
    await writeFile(
      conf,
      [
        `port ${sentinelPort}`,
        `bind ${HOST}`,
        'daemonize no',
        `dir ${sentinelDir}`,
        `logfile ${join(sentinelDir, 'sentinel.log')}`,
        `sentinel monitor ${masterName} ${HOST} ${master.port} 1`,
        `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs ?? 3000}`,
        `sentinel parallel-syncs ${masterName} 1`,
        '',
      ].join('\n'),
    );
    const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    sentinel = child;
    child.on('error', () => undefined);
    const log = async (): Promise<string> =>
      readFile(join(sentinelDir, 'sentinel.log'), 'utf8').catch(() => '(no log)');
    try {
      await until('the sentinel to know the replica', 10_000, async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`the sentinel exited (${child.exitCode ?? child.signalCode})`);
        return withRedis(sentinelPort, async (r) => {
          const replicas = (await r.call('SENTINEL', 'REPLICAS', masterName)) as string[][];
          return replicas.some((fields) => {
            const get = (key: string) => fields[fields.indexOf(key) + 1];
            return get('port') === String(replica.port) && get('flags') === 'slave';
          });
        });
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}\nsentinel log:\n${await log()}`);
    }

    const masterPort = () =>
      withRedis(sentinelPort, async (r) => {
        const addr = (await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as string[];
        return Number(addr[1]);
      });
    return {
      url: `redis+sentinel://${HOST}:${sentinelPort}/${masterName}`,
      masterName,
      sentinelPort,
      master,
      replica,
      masterPort,
      waitForMaster: async (port, timeoutMs) => {
        try {
          await until(`the sentinel to report the master on ${port}`, timeoutMs, async () => {
            if ((await masterPort()) !== port) return false;
            // Promoted, not only announced: the server says so itself.
            return withRedis(port, async (r) => /role:master/.test(await r.info('replication')));
          });
        } catch (error) {
          throw new Error(`${(error as Error).message}\nsentinel log:\n${await log()}`);
        }
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One short-lived direct client: no retries, so a dead server answers false, not a hang. */
async function withRedis<T>(port: number, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

async function until(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = (error as Error).message;
      if (last.startsWith('the sentinel exited')) break;
    }
    await sleep(50);
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last: ${last})` : ''}`,
  );
}
