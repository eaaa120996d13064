import { Redis, type RedisOptions } from 'ioredis';

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

export function createRedisConnection(url: string, options: RedisConnectionOptions): Redis {
  const base: RedisOptions = options.forWorker ? { maxRetriesPerRequest: null } : {};
  if (options.connectionName !== undefined) base.connectionName = options.connectionName;
  return new Redis(url, { ...base, ...options.overrides });
}
