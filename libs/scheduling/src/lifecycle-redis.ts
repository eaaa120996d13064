import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  assertRedisUsable,
  createRedisConnection,
  describeRedisUrl,
  PlatformError,
  type PrivateRedis,
  startPrivateRedis,
} from '@app/platform';
import { LifecycleStartError } from './errors';

export interface LifecycleRedisOptions {
  /** REDIS_URL; undefined: start a private redis-server under `dataDir`/redis. */
  url: string | undefined;
  dataDir: string;
  logger: Logger;
  /** Open the worker connection too (maxRetriesPerRequest: null). */
  forWorkers: boolean;
  /**
   * Aborted when the process begins to shut down: the start-up checks stop waiting for a Redis
   * that does not answer (open() then rejects with LifecycleStartError SHUTDOWN).
   */
  signal?: AbortSignal;
}

/**
 * The Redis the lifecycle queues live in: REDIS_URL, or (unset) a private redis-server child
 * process with AOF (everysec) and noeviction under DATA_DIR/redis, stopped on close(). A Redis that
 * may evict keys is refused at start-up (assertRedisUsable): an evicted delayed job is an expiry
 * or a purge that silently never happens.
 */
export class LifecycleRedis {
  private constructor(
    readonly url: string,
    /** Producer connection: commands fail after a few retries while Redis is down. */
    readonly connection: Redis,
    /** Worker connection (null when no worker runs here). */
    readonly workerConnection: Redis | null,
    readonly privateServer: PrivateRedis | null,
  ) {}

  static async open(o: LifecycleRedisOptions): Promise<LifecycleRedis> {
    let server: PrivateRedis | null = null;
    if (o.url === undefined) {
      server = await startPrivateRedis({
        dataDir: join(o.dataDir, 'redis'),
        persistence: 'aof',
        extraArgs: ['--hash-max-listpack-value', String(LISTPACK_VALUE)],
      });
      o.logger.info(
        { port: server.port, dataDir: server.dataDir },
        'REDIS_URL is unset: started a private redis-server (AOF everysec, noeviction)',
      );
      server.onUnexpectedExit((exit) =>
        o.logger.fatal(
          { exit },
          'the private redis-server died: jobs cannot run and /health/ready fails until the service restarts',
        ),
      );
    }
    const url = o.url ?? server!.url;
    const connection = createRedisConnection(url, {
      forWorker: false,
      connectionName: 'sub-eol-lifecycle',
    });
    connection.on('error', (error) =>
      o.logger.warn({ err: error }, 'lifecycle Redis connection error'),
    );
    o.logger.info({ redis: describeRedisUrl(url) }, 'lifecycle: connecting to Redis');
    try {
      // A Redis that accepts the connection but never answers (stopped, overloaded, a black hole)
      // holds these up indefinitely: only the shutdown cuts them short.
      await untilAborted(assertRedisUsable(connection), o.signal);
      if (server === null) await untilAborted(adviseListpack(connection, o.logger), o.signal);
    } catch (error) {
      connection.disconnect();
      await server?.stop();
      if (error instanceof PlatformError) throw error;
      if (o.signal?.aborted)
        throw new LifecycleStartError(
          'SHUTDOWN',
          `Start-up interrupted by the shutdown while waiting for Redis at ${describeRedisUrl(url)}.`,
          { cause: error },
        );
      throw new LifecycleStartError(
        'REDIS_UNREACHABLE',
        `Cannot reach Redis at ${describeRedisUrl(url)}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const workerConnection = o.forWorkers
      ? createRedisConnection(url, { forWorker: true, connectionName: 'sub-eol-lifecycle-worker' })
      : null;
    workerConnection?.on('error', (error) =>
      o.logger.warn({ err: error }, 'lifecycle Redis worker connection error'),
    );
    return new LifecycleRedis(url, connection, workerConnection, server);
  }

  /** Readiness: PING answered within `timeoutMs`. */
  async ping(timeoutMs = 1000): Promise<boolean> {
    // Not connected: down, without sending. ioredis would keep the PING in its offline queue
    // until Redis is back, and quit() at shutdown waits for that queue: a readiness probe during
    // an outage then held up SIGTERM.
    if (this.connection.status !== 'ready') return false;
    return answersPing(this.connection, timeoutMs);
  }

  /**
   * PING on a connection of its own, opened for it and dropped after: a command of ours that
   * Redis holds (a paused or slow write) would queue a PING on the same connection behind it,
   * and a Redis that works would read as one that does not answer.
   */
  async answersOnAFreshConnection(timeoutMs = 1000): Promise<boolean> {
    const probe = this.connection.duplicate({
      connectionName: 'sub-eol-lifecycle-probe',
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      return await answersPing(probe, timeoutMs);
    } finally {
      probe.disconnect();
    }
  }

  /**
   * Drops the queues' connection (scheduler, reconciler, producers) at once, without QUIT: its
   * commands in flight or queued fail ("Connection is closed"), within ioredis' disconnectTimeout
   * (2 s) when Redis does not answer. The workers' connection is left to their own close (jobs in
   * hand complete or, with Redis gone, are picked up again as stalled). For a shutdown that
   * cannot wait for a Redis that has stopped answering.
   */
  disconnectQueues(): void {
    this.connection.disconnect();
  }

  /**
   * Closes both connections: QUIT (replies in flight arrive first), bounded by `quitTimeoutMs`.
   * While Redis is down, commands wait in ioredis' offline queue and QUIT waits behind them until
   * Redis is back: then the connection is dropped instead, so that shutdown never hangs on an
   * outage (the jobs are derived from the log; nothing is lost).
   */
  async close(quitTimeoutMs = 2000): Promise<void> {
    await Promise.all(
      [this.connection, this.workerConnection].map(async (c) => {
        if (!c) return;
        if (c.status !== 'ready') return c.disconnect();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            c.quit(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('QUIT timed out')), quitTimeoutMs);
            }),
          ]);
        } catch {
          c.disconnect();
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    await this.privateServer?.stop();
  }
}

/** Resolves or rejects as `work` does, or rejects once `signal` is aborted, whichever is first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * A pending job is a small Redis hash whose `opts` and `data` fields are 90 to 200 bytes long.
 * With hash-max-listpack-value at 256 (Redis's default is 64) such a hash stays in the compact
 * listpack encoding: about 0.55 KB per pending job instead of about 0.95 KB (bench:schedule).
 * The private redis-server is started so; an external Redis gets a hint at start-up.
 */
export const LISTPACK_VALUE = 256;

async function adviseListpack(redis: Redis, logger: Logger): Promise<void> {
  try {
    const reply = (await redis.config('GET', 'hash-max-listpack-value')) as unknown;
    const value = Array.isArray(reply) ? Number(reply[1]) : Number.NaN;
    if (Number.isFinite(value) && value < LISTPACK_VALUE)
      logger.info(
        { hashMaxListpackValue: value },
        `Redis hash-max-listpack-value is ${value}: each pending lifecycle job takes about 0.95 KB; ` +
          `with ${LISTPACK_VALUE} it takes about 0.55 KB (CONFIG SET hash-max-listpack-value ${LISTPACK_VALUE}).`,
      );
  } catch {
    // CONFIG disabled (managed Redis): nothing to advise on.
  }
}

/** PING answered with PONG within `timeoutMs` (a connection still connecting counts its wait). */
async function answersPing(connection: Redis, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const reply = await Promise.race([
      connection.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return reply === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
