import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { createRedisConnection } from '@app/platform';

/** Runs `fn` with a fresh client and always disconnects, so no client outlives a killed server. */
export async function withClient<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  // No retries: a test talking to a dead server should fail at once, not hang.
  const redis = createRedisConnection(url, {
    forWorker: false,
    overrides: { maxRetriesPerRequest: 0, retryStrategy: () => null },
  });
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

/** A temp dir that the returned function removes. */
export async function tempDir(
  prefix: string,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
