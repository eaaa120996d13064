export { startPrivateRedis, type PrivateRedis, type PrivateRedisOptions } from './redis.launcher';
export { assertRedisUsable } from './redis.usable';
export { createRedisConnection, type RedisConnectionOptions } from './redis.connection';
export { findFreePort } from './free-port';
export {
  describeRedisUrl,
  isSentinelUrl,
  parseRedisUrl,
  redisUrlProblem,
  RedisUrlError,
  REDIS_URL_FORMS,
  type RedisTarget,
  type SentinelAddress,
} from './redis-url';
