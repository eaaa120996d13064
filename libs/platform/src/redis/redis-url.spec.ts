import { loadConfig } from '../config/config.loader';
import { ConfigError } from '../config/config.error';
import { describeRedisUrl, parseRedisUrl, redisUrlProblem } from './redis-url';

const SECRET = 's3cr%40t-Pw';
const SENTINEL_SECRET = 'sent1nel-Pw';

describe('REDIS_URL forms (redis-url.ts)', () => {
  describe('direct', () => {
    it.each(['redis://127.0.0.1:6379', 'rediss://user:pw@redis.example:6380/2', 'redis://h'])(
      'passes %s to ioredis unchanged',
      (url) => {
        expect(parseRedisUrl(url)).toEqual({ kind: 'direct', url });
      },
    );
  });

  describe('sentinel', () => {
    it('parses sentinels, master name, credentials, db and sentinel credentials', () => {
      expect(
        parseRedisUrl(
          `redis+sentinel://app:${SECRET}@s1.internal:26379,10.0.0.2:26380,[::1]:26381/mymaster/3` +
            `?sentinelUsername=watch&sentinelPassword=${SENTINEL_SECRET}`,
        ),
      ).toEqual({
        kind: 'sentinel',
        sentinels: [
          { host: 's1.internal', port: 26379 },
          { host: '10.0.0.2', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        name: 'mymaster',
        username: 'app',
        password: 's3cr@t-Pw',
        sentinelUsername: 'watch',
        sentinelPassword: SENTINEL_SECRET,
        db: 3,
        tls: false,
      });
    });

    it('defaults: port 26379, db 0, no credentials; ?db= works like /db; rediss+sentinel is TLS', () => {
      expect(parseRedisUrl('redis+sentinel://sentinel/queue')).toEqual({
        kind: 'sentinel',
        sentinels: [{ host: 'sentinel', port: 26379 }],
        name: 'queue',
        db: 0,
        tls: false,
      });
      expect(parseRedisUrl('rediss+sentinel://:pw@h/m?db=2')).toMatchObject({
        password: 'pw',
        db: 2,
        tls: true,
      });
      expect(parseRedisUrl('REDIS+SENTINEL://h:1/m/1?db=1')).toMatchObject({ db: 1 });
      // Password only (requirepass): ":password@".
      const target = parseRedisUrl('redis+sentinel://:only@h/m');
      expect(target).toMatchObject({ password: 'only' });
      expect(target).not.toHaveProperty('username');
    });

    it.each([
      ['no master name', `redis+sentinel://app:${SECRET}@h:26379`, /names the master group/],
      ['empty master name', `redis+sentinel://app:${SECRET}@h:26379/`, /names the master group/],
      ['too deep a path', `redis+sentinel://app:${SECRET}@h/m/0/x`, /\/<masterName>\[\/<db>\]/],
      ['bad db', `redis+sentinel://app:${SECRET}@h/m/zero`, /must be a number/],
      ['two dbs', `redis+sentinel://app:${SECRET}@h/m/1?db=2`, /given twice/],
      ['no hosts', `redis+sentinel://app:${SECRET}@/m`, /sentinel 1 is empty/],
      ['empty host in list', `redis+sentinel://app:${SECRET}@a:1,,b:2/m`, /sentinel 2 is empty/],
      ['space in list', `redis+sentinel://app:${SECRET}@a:1, b:2/m`, /sentinel 2 is not a host/],
      ['port too big', `redis+sentinel://app:${SECRET}@a:70000/m`, /outside 1-65535/],
      ['port 0', `redis+sentinel://app:${SECRET}@a:0/m`, /outside 1-65535/],
      ['empty port', `redis+sentinel://app:${SECRET}@a:/m`, /empty port/],
      [
        'unknown option',
        `redis+sentinel://app:${SECRET}@a/m?password=${SECRET}`,
        /unknown option "password"/,
      ],
      [
        'repeated option',
        `redis+sentinel://h/m?sentinelPassword=${SENTINEL_SECRET}&sentinelPassword=x`,
        /more than once/,
      ],
      ['fragment', `redis+sentinel://app:${SECRET}@a/m#x`, /no #fragment/],
      ['bad escape', `redis+sentinel://app:%zz${SECRET}@a/m`, /percent-encoding/],
      ['other scheme', `http://app:${SECRET}@a:6379`, /redis\+sentinel:\/\//],
      [
        'sentinel list under redis://',
        `redis://app:${SECRET}@a:26379,b:26379/m`,
        /redis\+sentinel:\/\//,
      ],
      ['no scheme', `app:${SECRET}@localhost:6379`, /must be a URL/],
      ['a placeholder', `REPLACE_ME: redis+sentinel://app:${SECRET}@h/m`, /must be a URL/],
    ])('refuses %s, without echoing a password', (_what, url, message) => {
      const problem = redisUrlProblem(url);
      expect(problem).toMatch(message);
      expect(problem).not.toContain('s3cr');
      expect(problem).not.toContain(SENTINEL_SECRET);
      expect(() => parseRedisUrl(url)).toThrow(message);
    });

    it('the configuration accepts the sentinel form and refuses a bad one without the password', () => {
      const good = loadConfig({
        REDIS_URL: `redis+sentinel://app:${SECRET}@s1:26379,s2:26379/mymaster`,
      });
      expect(good.redisUrl).toBe(`redis+sentinel://app:${SECRET}@s1:26379,s2:26379/mymaster`);

      let error: unknown;
      try {
        loadConfig({ REDIS_URL: `redis+sentinel://app:${SECRET}@s1:26379,s2:26379` });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const configError = error as ConfigError;
      expect(configError.issues).toEqual([
        { variable: 'REDIS_URL', message: expect.stringContaining('names the master group') },
      ]);
      expect(configError.message).not.toContain('s3cr');
    });
  });

  describe('describeRedisUrl (for messages and logs)', () => {
    it.each([
      [`redis://app:${SECRET}@10.1.1.1:6379/2`, 'redis://10.1.1.1:6379'],
      [`rediss://:${SECRET}@redis.example:6380`, 'rediss://redis.example:6380'],
      [
        `redis+sentinel://app:${SECRET}@s1:26379,[::1]/my%20master/1?sentinelPassword=${SENTINEL_SECRET}`,
        'redis+sentinel://s1:26379,[::1]:26379/my%20master',
      ],
      [`rediss+sentinel://:${SECRET}@s1/m`, 'rediss+sentinel://s1:26379/m'],
      [`redis+sentinel://app:${SECRET}@s1`, '(unusable REDIS_URL)'],
      [`nonsense ${SECRET}`, '(unusable REDIS_URL)'],
    ])('%s -> %s', (url, shown) => {
      expect(describeRedisUrl(url)).toBe(shown);
    });
  });
});
