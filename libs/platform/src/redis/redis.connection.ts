import { Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl } from './redis-url';

export interface RedisConnectionOptions {
  /**
   * true for BullMQ Workers (and QueueEvents): blocking commands must wait for Redis to come
   * back instead of failing after a few retries, so maxRetriesPerRequest is null (BullMQ
   * requires it). false for producers (API side): a command fails after ioredis's default
   * retries, so an HTTP request gets an error rather than hanging while Redis is down.
   */
  forWorker: boolean;
  /** Shown in CLIENT LIST, which helps when several apps share one Redis. */
  connectionName?: string;
  /** Anything else ioredis accepts; applied last. */
  overrides?: RedisOptions;
}

/**
 * A connection for REDIS_URL in either form (redis-url.ts): `redis://` / `rediss://` go to ioredis
 * as they are; `redis+sentinel://` / `rediss+sentinel://` become ioredis' sentinel options, so the
 * connection asks the sentinels for the master and, after a failover, reconnects to the new one.
 * Throws RedisUrlError for an unusable URL (the configuration has validated it before).
 */
export function createRedisConnection(url: string, options: RedisConnectionOptions): Redis {
  const base: RedisOptions = {
    retryStrategy: reconnectDelayMs,
    ...(options.forWorker ? { maxRetriesPerRequest: null } : {}),
  };
  if (options.connectionName !== undefined) base.connectionName = options.connectionName;
  const target = parseRedisUrl(url);
  if (target.kind === 'direct') return new Redis(target.url, { ...base, ...options.overrides });
  const sentinel: RedisOptions = {
    sentinels: target.sentinels,
    name: target.name,
    role: 'master',
    db: target.db,
    // Subscribes to the sentinels' +switch-master: a failover drops the connection to the old
    // master at once instead of when that socket fails.
    failoverDetector: true,
  };
  if (target.username !== undefined) sentinel.username = target.username;
  if (target.password !== undefined) sentinel.password = target.password;
  if (target.sentinelUsername !== undefined) sentinel.sentinelUsername = target.sentinelUsername;
  if (target.sentinelPassword !== undefined) sentinel.sentinelPassword = target.sentinelPassword;
  if (target.tls) {
    sentinel.tls = {};
    sentinel.enableTLSForSentinelMode = true;
    sentinel.sentinelTLS = {};
  }
  return new Redis({ ...sentinel, ...base, ...options.overrides });
}

/**
 * How long a lost connection waits before its next attempt: doubling from 50 ms up to 1 s, plus
 * up to 100 ms of jitter so that a fleet's connections do not all knock at once. ioredis's own
 * default doubles up to 5 s, which after a failover or a restart of Redis left the lifecycle
 * workers idle up to 5 s more once Redis was back; an attempt a second costs a dead server
 * nothing.
 */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(50 * 2 ** (attempt - 1), 1000) + Math.floor(Math.random() * 100);
}
