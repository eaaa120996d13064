import { assertRedisUsable, isProcessRunning } from '@app/platform';
import { usePrivateRedis } from '../../support/redis-harness';
import { withClient } from './redis-test.helpers';

/** CONFIG GET <name> as a single value (legacy reply shape: [name, value]). */
async function configValue(url: string, name: string): Promise<string | undefined> {
  return withClient(url, async (redis) => {
    const reply = await redis.config('GET', name);
    return reply[1];
  });
}

describe('private redis-server (AOF) through usePrivateRedis', () => {
  const redis = usePrivateRedis();

  it('answers on 127.0.0.1 at the advertised url, with the settings the queue relies on', async () => {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    await withClient(redis.url, async (client) => expect(await client.ping()).toBe('PONG'));
    expect(await configValue(redis.url, 'bind')).toBe('127.0.0.1');
    expect(await configValue(redis.url, 'appendonly')).toBe('yes');
    expect(await configValue(redis.url, 'appendfsync')).toBe('everysec');
    expect(await configValue(redis.url, 'maxmemory-policy')).toBe('noeviction');
    expect(await configValue(redis.url, 'dir')).toBe(redis.dataDir);
    expect(await configValue(redis.url, 'daemonize')).toBe('no');
  });

  it('passes assertRedisUsable (noeviction)', async () => {
    await withClient(redis.url, async (client) =>
      expect(await assertRedisUsable(client)).toBe('noeviction'),
    );
  });

  it('flushAll empties it', async () => {
    await withClient(redis.url, (client) => client.set('flush-me', '1'));
    await redis.flushAll();
    await withClient(redis.url, async (client) => expect(await client.dbsize()).toBe(0));
  });

  it('kill -9 then restart: a key written more than 1 s before the crash is back (appendfsync everysec)', async () => {
    await withClient(redis.url, (client) => client.set('survivor', 'still-here'));
    // everysec: at most the last second of writes may be lost on a crash; wait it out.
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    const before = redis.pid;
    const port = redis.port;
    await redis.kill('SIGKILL');
    expect(isProcessRunning(before)).toBe(false);

    await redis.restart();
    expect(redis.port).toBe(port);
    expect(redis.pid).not.toBe(before);
    await withClient(redis.url, async (client) =>
      expect(await client.get('survivor')).toBe('still-here'),
    );
  }, 15_000);

  it('restart on a running server stops it gracefully first, and the data stays', async () => {
    await withClient(redis.url, (client) => client.set('graceful', 'yes'));
    const before = redis.pid;
    await redis.restart();
    expect(isProcessRunning(before)).toBe(false);
    await withClient(redis.url, async (client) => expect(await client.get('graceful')).toBe('yes'));
  }, 15_000);
});
