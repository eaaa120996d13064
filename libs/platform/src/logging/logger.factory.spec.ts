import { DateTime } from 'luxon';
import { loadConfig } from '../config/config.loader';
import { createLogger } from './logger.factory';
import { REDACTED } from './redact';

/** A destination that keeps every line pino writes, parsed and raw. */
function capture() {
  const lines: string[] = [];
  return {
    destination: { write: (line: string) => void lines.push(line) },
    raw: () => lines.join(''),
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const SECRETS = {
  bearer: 'Bearer tok-4f1c9e-very-secret',
  email: 'ada@example.com',
  last4: '4242',
  address: '1 Infinite Loop, Cupertino',
  comment: 'my boss is terrible, call me on 555-0100',
};

describe('createLogger', () => {
  it('redacts credentials and personal data at any depth, and keeps the rest', () => {
    const out = capture();
    const logger = createLogger(
      { logLevel: 'info' },
      { destination: out.destination, name: 'api' },
    );

    logger.info(
      {
        req: {
          method: 'POST',
          url: '/v1/subscriptions/sub_1/cancellation',
          headers: { authorization: SECRETS.bearer, 'content-type': 'application/json' },
        },
        token: 'tok-top-level',
        command: {
          subscriptionId: 'sub_1',
          data: {
            survey: { reason: 'too_expensive', comment: SECRETS.comment },
            verification: {
              billingAdminEmail: SECRETS.email,
              paymentLast4: SECRETS.last4,
              billingAddress: SECRETS.address,
            },
          },
        },
        event: {
          data: {
            billingAdminEmail: SECRETS.email,
            paymentLast4: SECRETS.last4,
            billingAddress: SECRETS.address,
          },
        },
        account: { owner: { contact: { email: SECRETS.email } } },
        l1: { l2: { l3: { l4: { l5: { l6: { email: SECRETS.email } } } } } },
      },
      'cancellation requested',
    );

    const raw = out.raw();
    for (const secret of [...Object.values(SECRETS), 'tok-top-level'])
      expect(raw).not.toContain(secret);

    const [record] = out.records();
    expect(record).toMatchObject({
      level: 'info',
      name: 'api',
      msg: 'cancellation requested',
      token: REDACTED,
      req: {
        method: 'POST',
        headers: { authorization: REDACTED, 'content-type': 'application/json' },
      },
      command: {
        subscriptionId: 'sub_1',
        data: { survey: { reason: 'too_expensive', comment: REDACTED }, verification: REDACTED },
      },
      event: {
        data: { billingAdminEmail: REDACTED, paymentLast4: REDACTED, billingAddress: REDACTED },
      },
      account: { owner: { contact: { email: REDACTED } } },
      l1: { l2: { l3: { l4: { l5: { l6: { email: REDACTED } } } } } },
    });
    expect(typeof record?.['time']).toBe('string');
  });

  it('redacts inside arrays and leaves class instances (DateTime) to their own JSON', () => {
    const out = capture();
    createLogger({ logLevel: 'info' }, { destination: out.destination }).info({
      contacts: [{ email: SECRETS.email, role: 'billing_admin' }],
      at: DateTime.fromISO('2026-12-31T23:00:00.000Z', { zone: 'utc' }),
    });
    expect(out.raw()).not.toContain(SECRETS.email);
    expect(out.records()[0]).toMatchObject({
      contacts: [{ email: REDACTED, role: 'billing_admin' }],
      at: '2026-12-31T23:00:00.000Z',
    });
  });

  it('never prints AUTH_TOKENS, neither the raw variable nor the loaded config', () => {
    const out = capture();
    const logger = createLogger({ logLevel: 'info' }, { destination: out.destination });
    const AUTH_TOKENS = JSON.stringify({
      'tok-in-env-9c2e': { service: 'billing', scopes: ['ops'] },
    });
    const config = loadConfig({
      AUTH_TOKENS,
      KEY_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    });

    logger.info({ env: { AUTH_TOKENS, PORT: '3000' } }, 'environment');
    logger.info({ config }, 'config');

    expect(out.raw()).not.toContain('tok-in-env-9c2e');
    expect(out.raw()).not.toContain(Buffer.alloc(32, 1).toString('base64'));
    const [env, loaded] = out.records();
    expect(env).toMatchObject({ env: { AUTH_TOKENS: REDACTED, PORT: '3000' } });
    expect(loaded).toMatchObject({
      config: { authTokens: REDACTED, keyEncryptionKey: REDACTED, port: 3000 },
    });
  });

  it('matches keys whatever their case (Authorization, AUTH_TOKENS, Email)', () => {
    const out = capture();
    createLogger({ logLevel: 'info' }, { destination: out.destination }).info({
      headers: { Authorization: SECRETS.bearer },
      Email: SECRETS.email,
    });
    expect(out.records()[0]).toMatchObject({
      headers: { Authorization: REDACTED },
      Email: REDACTED,
    });
  });

  it('redacts child-logger bindings and properties of logged errors', () => {
    const out = capture();
    const child = createLogger({ logLevel: 'info' }, { destination: out.destination }).child({
      token: 'tok-bound-77',
      requestId: 'r1',
    });
    const error = Object.assign(new Error('verification failed'), {
      details: { billingAdminEmail: SECRETS.email },
    });
    child.error(error, 'refused');
    child.error({ err: error }, 'refused again');
    child.child({ billingAddress: SECRETS.address }).info('grandchild');
    expect(out.raw()).not.toContain('tok-bound-77');
    expect(out.raw()).not.toContain(SECRETS.address);
    expect(out.raw()).not.toContain(SECRETS.email);
    const [first, second] = out.records();
    expect(first).toMatchObject({
      requestId: 'r1',
      token: REDACTED,
      err: { message: 'verification failed', details: { billingAdminEmail: REDACTED } },
    });
    expect(second).toMatchObject({ err: { details: { billingAdminEmail: REDACTED } } });
    expect(out.records()[2]).toMatchObject({
      token: REDACTED,
      billingAddress: REDACTED,
      msg: 'grandchild',
    });
  });

  it('survives cyclic objects', () => {
    const out = capture();
    const node: Record<string, unknown> = { email: SECRETS.email };
    node['self'] = node;
    createLogger({ logLevel: 'info' }, { destination: out.destination }).info({ node });
    expect(out.raw()).not.toContain(SECRETS.email);
    expect(out.records()[0]).toMatchObject({ node: { email: REDACTED } });
  });

  it('does not mutate the logged object', () => {
    const out = capture();
    const payload = {
      headers: { authorization: SECRETS.bearer },
      list: [{ email: SECRETS.email }],
    };
    createLogger({ logLevel: 'info' }, { destination: out.destination }).info(payload);
    expect(payload).toEqual({
      headers: { authorization: SECRETS.bearer },
      list: [{ email: SECRETS.email }],
    });
  });

  it('honours LOG_LEVEL', () => {
    const out = capture();
    const logger = createLogger({ logLevel: 'warn' }, { destination: out.destination });
    logger.info('hidden');
    logger.warn('shown');
    expect(out.records().map((r) => r['msg'])).toEqual(['shown']);
  });
});
