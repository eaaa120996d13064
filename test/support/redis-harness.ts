import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createRedisConnection,
  startPrivateRedis,
  type PrivateRedis,
  type PrivateRedisOptions,
} from '@app/platform';

export interface PrivateRedisHandle {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  /** Crash the server (default SIGKILL) and wait for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port and data dir; with AOF the data comes back. */
  restart(): Promise<void>;
  flushAll(): Promise<void>;
}

export type UsePrivateRedisOptions = Partial<
  Pick<PrivateRedisOptions, 'persistence' | 'extraArgs' | 'startTimeoutMs'>
>;

/**
 * One private redis-server per jest suite, started in beforeAll and stopped in afterAll, through
 * the same launcher the app uses. Call it at the top of a describe block (or file); read the
 * handle's fields inside tests, not at collection time, since the server starts in beforeAll.
 */
export function usePrivateRedis(options: UsePrivateRedisOptions = {}): PrivateRedisHandle {
  let server: PrivateRedis | undefined;
  let dataDir: string | undefined;

  const started = (): PrivateRedis => {
    if (!server)
      throw new Error(
        'usePrivateRedis: the server starts in beforeAll; use the handle inside tests or hooks.',
      );
    return server;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'private-redis-'));
    server = await startPrivateRedis({
      dataDir,
      persistence: options.persistence ?? 'aof',
      extraArgs: options.extraArgs ?? [],
      startTimeoutMs: options.startTimeoutMs ?? 10_000,
    });
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 30_000);

  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    get pid() {
      return started().pid;
    },
    get dataDir() {
      return started().dataDir;
    },
    kill: (signal) => started().kill(signal),
    restart: () => started().restart(),
    flushAll: async () => {
      const redis = createRedisConnection(started().url, { forWorker: false });
      try {
        await redis.flushall();
      } finally {
        redis.disconnect();
      }
    },
  };
}
