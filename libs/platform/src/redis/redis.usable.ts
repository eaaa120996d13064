import type { Redis } from 'ioredis';
import { PlatformError } from '../errors/platform.error';

/**
 * Refuses a Redis that may evict keys: BullMQ keeps jobs as ordinary keys, and an evicted
 * delayed job is a purge or expiry that silently never happens.
 *
 * Reads CONFIG GET first; managed services often disable or rename CONFIG, so it falls back to
 * INFO memory. Resolves with the policy found (always 'noeviction').
 */
export async function assertRedisUsable(redis: Redis): Promise<string> {
  const policy = (await policyFromConfig(redis)) ?? (await policyFromInfo(redis));
  if (policy === undefined) {
    throw new PlatformError(
      'REDIS_EVICTION_POLICY',
      'Cannot tell whether Redis may evict keys: neither CONFIG GET maxmemory-policy nor INFO memory ' +
        'reported a maxmemory-policy. The job queue needs maxmemory-policy noeviction.',
    );
  }
  if (policy !== 'noeviction') {
    throw new PlatformError(
      'REDIS_EVICTION_POLICY',
      `Redis runs with maxmemory-policy ${policy}; the job queue needs noeviction, or scheduled ` +
        'expiries and purges can be evicted without trace. Set "maxmemory-policy noeviction" on that server.',
    );
  }
  return policy;
}

async function policyFromConfig(redis: Redis): Promise<string | undefined> {
  let reply: unknown;
  try {
    reply = await redis.config('GET', 'maxmemory-policy');
  } catch {
    // CONFIG disabled, renamed or not permitted by ACL: try INFO.
    return undefined;
  }
  // RESP2/legacy mapping: ['maxmemory-policy', 'noeviction']; RESP3 mapping: { 'maxmemory-policy': ... }.
  if (Array.isArray(reply)) {
    const index = reply.indexOf('maxmemory-policy');
    const value: unknown = index >= 0 ? reply[index + 1] : undefined;
    return typeof value === 'string' ? value : undefined;
  }
  if (reply && typeof reply === 'object') {
    const value: unknown = (reply as Record<string, unknown>)['maxmemory-policy'];
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

async function policyFromInfo(redis: Redis): Promise<string | undefined> {
  let info: string;
  try {
    info = await redis.info('memory');
  } catch {
    return undefined;
  }
  const match = /^maxmemory_policy:(\S+)/m.exec(info);
  return match?.[1];
}
