import { generateKeyPairSync } from 'node:crypto';
import { AUTH_SCOPES, DEV_TOKEN } from './auth-scopes';
import { ConfigError } from './config.error';
import { loadConfig } from './config.loader';

const TOKENS = JSON.stringify({
  's3cr3t-billing': { service: 'billing', scopes: ['subscriptions:write', 'subscriptions:read'] },
  's3cr3t-audit': { service: 'audit', scopes: ['audit:read'] },
});
const KEY = Buffer.alloc(32, 7).toString('base64');
/** D11: an Ed25519 private key in PKCS#8 PEM, as RECEIPT_SIGNING_KEY takes it. */
const SIGNING_KEY = generateKeyPairSync('ed25519')
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

/** Runs loadConfig expecting failure and returns the error for inspection. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env, { cwd: '/srv/app' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  describe('defaults', () => {
    it('gives the documented defaults for an empty environment', () => {
      const config = loadConfig({}, { cwd: '/srv/app' });
      expect(config).toMatchObject({
        port: 3000,
        workerHealthPort: 9464,
        dataDir: '/srv/app/var',
        redisUrl: undefined,
        eventStoreUrl: undefined,
        readDbUrl: undefined,
        nodeEnv: 'development',
        clockMode: 'system',
        clockStart: undefined,
        logLevel: 'info',
        reconcileIntervalMs: 300_000,
        shutdownDrainMs: 0,
        keyEncryptionKey: undefined,
        requestHashKey: undefined,
      });
    });

    it('treats blank variables (FOO=) as unset', () => {
      const config = loadConfig({ PORT: '', REDIS_URL: ' ', AUTH_TOKENS: '' }, { cwd: '/srv/app' });
      expect(config.port).toBe(3000);
      expect(config.redisUrl).toBeUndefined();
      expect(config.devTokenInUse).toBe(true);
    });

    it('resolves a relative DATA_DIR against the working directory and keeps an absolute one', () => {
      expect(loadConfig({ DATA_DIR: 'data/x' }, { cwd: '/srv/app' }).dataDir).toBe(
        '/srv/app/data/x',
      );
      expect(loadConfig({ DATA_DIR: '/var/lib/app' }, { cwd: '/srv/app' }).dataDir).toBe(
        '/var/lib/app',
      );
    });
  });

  describe('typed values', () => {
    it('parses every variable into its type', () => {
      const config = loadConfig({
        PORT: '8080',
        WORKER_HEALTH_PORT: '9100',
        REDIS_URL: 'redis://127.0.0.1:6380/2',
        EVENTSTORE_URL: 'kurrentdb://localhost:2113?tls=false',
        READ_DB_URL: 'postgres://app@127.0.0.1:5432/test',
        AUTH_TOKENS: TOKENS,
        NODE_ENV: 'test',
        CLOCK_MODE: 'controlled',
        CLOCK_START: '2026-12-31T23:00:00.000+01:00',
        LOG_LEVEL: 'debug',
        RECONCILE_INTERVAL_MS: '1000',
        SHUTDOWN_DRAIN_MS: '15000',
        KEY_ENCRYPTION_KEY: KEY,
      });
      expect(config.port).toBe(8080);
      expect(config.workerHealthPort).toBe(9100);
      expect(config.redisUrl).toBe('redis://127.0.0.1:6380/2');
      expect(config.eventStoreUrl).toBe('kurrentdb://localhost:2113?tls=false');
      expect(config.readDbUrl).toBe('postgres://app@127.0.0.1:5432/test');
      expect(config.nodeEnv).toBe('test');
      expect(config.clockMode).toBe('controlled');
      expect(config.clockStart?.toISO()).toBe('2026-12-31T22:00:00.000Z');
      expect(config.logLevel).toBe('debug');
      expect(config.reconcileIntervalMs).toBe(1000);
      expect(config.shutdownDrainMs).toBe(15_000);
      expect(config.keyEncryptionKey?.equals(Buffer.alloc(32, 7))).toBe(true);
    });

    it('allows PORT=0 (let the OS pick, handy in tests)', () => {
      expect(loadConfig({ PORT: '0' }).port).toBe(0);
    });

    it('WORKER_HEALTH_PORT: 0 lets the OS pick, off turns the worker health port off, blank is the default', () => {
      expect(loadConfig({ WORKER_HEALTH_PORT: '0' }).workerHealthPort).toBe(0);
      expect(loadConfig({ WORKER_HEALTH_PORT: 'off' }).workerHealthPort).toBeNull();
      expect(loadConfig({ WORKER_HEALTH_PORT: ' ' }).workerHealthPort).toBe(9464);
    });
  });

  describe('AUTH_TOKENS', () => {
    it('maps each token to its service and scopes; the dev token is not accepted then', () => {
      const config = loadConfig({ AUTH_TOKENS: TOKENS });
      expect(config.devTokenInUse).toBe(false);
      expect(config.authTokens).toEqual([
        {
          token: 's3cr3t-billing',
          service: 'billing',
          scopes: ['subscriptions:write', 'subscriptions:read'],
        },
        { token: 's3cr3t-audit', service: 'audit', scopes: ['audit:read'] },
      ]);
    });

    it.each(['development', 'test', undefined])(
      'unset with NODE_ENV=%s: dev-token has every scope and devTokenInUse is true',
      (nodeEnv) => {
        const config = loadConfig(nodeEnv === undefined ? {} : { NODE_ENV: nodeEnv });
        expect(config.devTokenInUse).toBe(true);
        expect(config.authTokens).toEqual([
          { token: DEV_TOKEN, service: 'dev', scopes: [...AUTH_SCOPES] },
        ]);
      },
    );

    it('unset with NODE_ENV=production: refuses to start, saying what to set', () => {
      const error = configError({ NODE_ENV: 'production' });
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.issues).toEqual([
        {
          variable: 'AUTH_TOKENS',
          message: expect.stringContaining('required when NODE_ENV=production'),
        },
      ]);
    });

    it('production refuses the dev token even when listed explicitly', () => {
      const error = configError({
        NODE_ENV: 'production',
        AUTH_TOKENS: JSON.stringify({ [DEV_TOKEN]: { service: 'x', scopes: ['ops'] } }),
      });
      expect(error.issues.map((i) => i.message).join()).toContain(
        'refused when NODE_ENV=production',
      );
    });

    it.each([
      ['not JSON', '{nope', 'must be valid JSON'],
      ['an array', '[]', 'must be a JSON object'],
      ['empty', '{}', 'at least one token'],
      [
        'an unknown scope',
        JSON.stringify({ tok: { service: 'billing', scopes: ['admin'] } }),
        'each scope must be one of',
      ],
      ['a missing service', JSON.stringify({ tok: { scopes: ['ops'] } }), 'service'],
      ['an unknown field', JSON.stringify({ tok: { service: 'b', scope: ['ops'] } }), 'entry 1'],
    ])('rejects %s', (_label, value, expected) => {
      const error = configError({ AUTH_TOKENS: value });
      expect(error.issues.every((i) => i.variable === 'AUTH_TOKENS')).toBe(true);
      expect(error.message).toContain(expected);
    });

    it('never puts a token into the error message', () => {
      const error = configError({
        AUTH_TOKENS: JSON.stringify({
          'very-secret-token-value': { service: 'billing', scopes: ['nope'] },
        }),
      });
      expect(error.message).toContain('service "billing"');
      expect(error.message).not.toContain('very-secret-token-value');
    });
  });

  describe('validation', () => {
    it.each([
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['PORT', '1e3'],
      ['WORKER_HEALTH_PORT', 'abc'],
      ['WORKER_HEALTH_PORT', '65536'],
      ['WORKER_HEALTH_PORT', '-1'],
      ['WORKER_HEALTH_PORT', 'OFF'],
      ['WORKER_HEALTH_PORT', 'false'],
      ['REDIS_URL', 'http://localhost:6379'],
      ['REDIS_URL', 'localhost:6379'],
      ['READ_DB_URL', 'mysql://x'],
      ['EVENTSTORE_URL', 'localhost:2113'],
      ['NODE_ENV', 'staging'],
      ['CLOCK_MODE', 'frozen'],
      ['LOG_LEVEL', 'verbose'],
      ['RECONCILE_INTERVAL_MS', '0'],
      ['RECONCILE_INTERVAL_MS', '-5'],
      ['SHUTDOWN_DRAIN_MS', '-1'],
      ['SHUTDOWN_DRAIN_MS', '1.5'],
      ['SHUTDOWN_DRAIN_MS', '600001'],
      ['KEY_ENCRYPTION_KEY', Buffer.alloc(16).toString('base64')],
      ['KEY_ENCRYPTION_KEY', 'not base64 at all!!'],
      ['REQUEST_HASH_KEY', Buffer.alloc(16).toString('base64')],
      ['REQUEST_HASH_KEY', 'REPLACE_ME: openssl rand -base64 32'],
    ])('rejects %s=%s', (variable, value) => {
      const error = configError({ [variable]: value });
      expect(error.issues.map((i) => i.variable)).toEqual([variable]);
    });

    it('rejects CLOCK_START that is not an ISO time, and CLOCK_START without CLOCK_MODE=controlled', () => {
      expect(configError({ CLOCK_MODE: 'controlled', CLOCK_START: 'tomorrow' }).issues).toEqual([
        { variable: 'CLOCK_START', message: expect.stringContaining('ISO 8601') },
      ]);
      expect(configError({ CLOCK_START: '2026-01-01T00:00:00Z' }).issues).toEqual([
        { variable: 'CLOCK_START', message: expect.stringContaining('CLOCK_MODE=controlled') },
      ]);
    });

    it('lists every bad variable in one error', () => {
      const error = configError({
        NODE_ENV: 'production',
        PORT: 'x',
        REDIS_URL: 'nope',
        LOG_LEVEL: 'loud',
        KEY_ENCRYPTION_KEY: 'short',
      });
      expect(error.issues.map((i) => i.variable).sort()).toEqual(
        ['AUTH_TOKENS', 'KEY_ENCRYPTION_KEY', 'LOG_LEVEL', 'PORT', 'REDIS_URL'].sort(),
      );
      for (const variable of [
        'AUTH_TOKENS',
        'KEY_ENCRYPTION_KEY',
        'LOG_LEVEL',
        'PORT',
        'REDIS_URL',
      ]) {
        expect(error.message).toContain(`${variable}:`);
      }
    });

    it('production with a shared event log (EVENTSTORE_URL) needs READ_DB_URL, where the keys are shared', () => {
      const production = {
        NODE_ENV: 'production',
        AUTH_TOKENS: TOKENS,
        EVENTSTORE_URL: 'kurrentdb://kurrentdb:2113?tls=false',
        RECEIPT_SIGNING_KEY: SIGNING_KEY,
      };
      expect(configError(production).issues).toEqual([
        { variable: 'READ_DB_URL', message: expect.stringContaining('personal-data keys') },
      ]);
      expect(
        loadConfig({ ...production, READ_DB_URL: 'postgres://app@db:5432/subscriptions' })
          .readDbUrl,
      ).toBe('postgres://app@db:5432/subscriptions');
      // The embedded log (one host) and other environments keep the SQLite key store.
      expect(() => loadConfig({ NODE_ENV: 'production', AUTH_TOKENS: TOKENS })).not.toThrow();
      expect(() => loadConfig({ EVENTSTORE_URL: production.EVENTSTORE_URL })).not.toThrow();
    });

    it('does not echo secret values in the error', () => {
      const error = configError({ KEY_ENCRYPTION_KEY: 'c2VjcmV0LWtleS1tYXRlcmlhbA==' });
      expect(error.message).not.toContain('c2VjcmV0LWtleS1tYXRlcmlhbA==');
    });
  });

  it('returns a frozen object, tokens included', () => {
    const config = loadConfig({ AUTH_TOKENS: TOKENS });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.authTokens)).toBe(true);
    expect(Object.isFrozen(config.authTokens[0])).toBe(true);
    expect(Object.isFrozen(config.authTokens[0]?.scopes)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  describe('D11: RECEIPT_SIGNING_KEY', () => {
    const production = {
      NODE_ENV: 'production',
      AUTH_TOKENS: TOKENS,
      READ_DB_URL: 'postgres://u@db:5432/eol',
      EVENTSTORE_URL: 'postgres://u@db:5432/eol?schema=log',
    };

    it('D11: the production shape refuses to start without it, naming the variable', () => {
      const error = configError(production);
      expect(error.issues.map((i) => i.variable)).toEqual(['RECEIPT_SIGNING_KEY']);
      expect(error.message).toMatch(/RECEIPT_SIGNING_KEY: is required when NODE_ENV=production/);
    });

    it('D11: takes an Ed25519 PKCS#8 PEM (also with \\n escapes) and refuses anything else without echoing it', () => {
      const key = SIGNING_KEY;
      expect(
        loadConfig({ ...production, RECEIPT_SIGNING_KEY: key }).receiptSigningKey,
      ).toMatchObject({
        asymmetricKeyType: 'ed25519',
      });
      expect(
        loadConfig({ RECEIPT_SIGNING_KEY: key.replace(/\n/g, '\\n') }).receiptSigningKey
          ?.asymmetricKeyType,
      ).toBe('ed25519');
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
      for (const bad of ['s3cr3t-not-a-key', rsa]) {
        const error = configError({ RECEIPT_SIGNING_KEY: bad });
        expect(error.issues.map((i) => i.variable)).toEqual(['RECEIPT_SIGNING_KEY']);
        expect(error.message).not.toContain('s3cr3t');
      }
    });

    it('D11: is optional outside the production shape (the key is made once)', () => {
      expect(
        loadConfig({ NODE_ENV: 'production', AUTH_TOKENS: TOKENS }).receiptSigningKey,
      ).toBeUndefined();
      expect(loadConfig({ READ_DB_URL: production.READ_DB_URL }).receiptSigningKey).toBeUndefined();
    });

    it('D11: RECEIPT_VERIFY_KEYS takes SPKI PEM blocks one after the other', () => {
      const publicPem = () =>
        generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(
        loadConfig({ RECEIPT_VERIFY_KEYS: `${publicPem()}${publicPem()}` }).receiptVerifyKeys,
      ).toHaveLength(2);
      expect(configError({ RECEIPT_VERIFY_KEYS: 'nope' }).issues[0]?.variable).toBe(
        'RECEIPT_VERIFY_KEYS',
      );
    });
  });
});
