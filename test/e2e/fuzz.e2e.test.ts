import fc from 'fast-check';
import { encodeCursor } from '@app/read-models';
import { auth, type TestApp, registrationBody, startApp, TOKENS } from '../support/app-harness';
import { type Method, type Route, servedRoutes, urlOf } from './support/routes';

/** Strings that have broken parsers before: encodings, traversal, huge numbers, odd instants. */
const NASTY = [
  '',
  ' ',
  '..',
  '../../etc/passwd',
  '%',
  '%00',
  '%zz',
  'a:b',
  'null',
  'undefined',
  '[object Object]',
  '-1',
  '0',
  '1e3',
  'NaN',
  'Infinity',
  '99999999999999999999',
  '999999999999999999999999999999',
  '2026-02-30T00:00:00Z',
  '2026-13-45T25:61:61+99:99',
  '\u0000',
  '\ud83d\ude00',
  'x'.repeat(2000),
  encodeCursor('audit-events', 1n),
  encodeCursor('audit-events', 99999999999999999999n),
  encodeCursor('audit-purges', 1n),
  'eyJ2IjoxfQ',
];
const QUERY_KEYS = [
  'accountId',
  'subscriptionId',
  'actorId',
  'type',
  'from',
  'to',
  'limit',
  'cursor',
  'format',
  'minPosition',
  'maxWaitMs',
  'status',
  'section',
  'role',
  'channel',
];
const text = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
);
/** Header values Node accepts: visible ASCII and latin-1, no CR/LF. */
const headerText = fc
  .string({ unit: 'binary-ascii', maxLength: 300 })
  .map((s) => s.replace(/[^\x20-\x7e]/g, ''));

describe('fuzzed input (fast-check): bodies, headers, query strings and path ids never get a 5xx, write nothing, log no error', () => {
  let t: TestApp;
  let routes: Route[];
  const tokenFor = (r: Route) =>
    ({
      'subscriptions:write': TOKENS.writer,
      'subscriptions:read': TOKENS.reader,
      'audit:read': TOKENS.auditor,
      'events:read': TOKENS.events,
      ops: TOKENS.ops,
    })[r.scope ?? ''] ?? TOKENS.all;

  beforeAll(async () => {
    t = await startApp({ logLevel: 'info' });
    routes = await servedRoutes(t);
    // Something to find: a subscription with events, cancelled, and in the read models.
    const reg = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions',
      headers: auth(TOKENS.writer),
      payload: registrationBody({ subscriptionId: 'x_1', accountId: 'x_1' }),
    });
    expect(reg.statusCode).toBe(201);
  });
  afterAll(() => t.close());

  const head = async () => (await t.raw.headPosition())?.toString() ?? null;
  const send = async (
    method: Method,
    url: string,
    headers: Record<string, string>,
    payload?: string | object,
  ) => {
    const res = await t.app.inject({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { payload }),
    });
    if (res.statusCode >= 500) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body}`);
    return res;
  };
  const route = () => fc.constantFrom(...routes);
  const runs = { numRuns: 150 };

  it('bodies: any JSON, any bytes, any content type', async () => {
    const before = await head();
    const writes = routes.filter((r) => r.method !== 'GET');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...writes),
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }).map((v) => ({ json: v })),
          fc.string({ maxLength: 200 }).map((s) => ({ raw: s, type: 'application/json' })),
          fc
            .tuple(
              fc.string({ maxLength: 100 }),
              fc.constantFrom(
                'text/plain',
                'application/x-www-form-urlencoded',
                'application/json; charset=latin1',
                'multipart/form-data',
                'application/xml',
              ),
            )
            .map(([raw, type]) => ({ raw, type })),
        ),
        async (r, body) => {
          const headers = { ...auth(tokenFor(r)) };
          if ('json' in body)
            await send(
              r.method,
              urlOf(r.path),
              { ...headers, 'content-type': 'application/json' },
              JSON.stringify(body.json),
            );
          else
            await send(
              r.method,
              urlOf(r.path),
              { ...headers, 'content-type': body.type },
              body.raw,
            );
        },
      ),
      runs,
    );
    expect(await head()).toBe(before);
  });

  it('query strings: known and unknown keys, repeated keys, hostile values', async () => {
    const before = await head();
    await fc.assert(
      fc.asyncProperty(
        route(),
        fc.array(
          fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 10 })), text),
          { maxLength: 6 },
        ),
        fc.boolean(),
        async (r, pairs, ndjson) => {
          const qs = new URLSearchParams(pairs).toString();
          const headers = {
            ...auth(tokenFor(r)),
            ...(ndjson ? { accept: 'application/x-ndjson' } : {}),
          };
          await send(
            r.method,
            `${urlOf(r.path)}?${qs}`,
            headers,
            r.method === 'GET' ? undefined : {},
          );
        },
      ),
      runs,
    );
    // Raw query strings, not built by URLSearchParams.
    await fc.assert(
      fc.asyncProperty(
        route(),
        fc.string({ unit: 'binary-ascii', maxLength: 80 }),
        async (r, raw) => {
          const q = raw.replace(/[\s#]/g, '');
          await send(
            r.method,
            `${urlOf(r.path)}?${q}`,
            auth(tokenFor(r)),
            r.method === 'GET' ? undefined : {},
          );
        },
      ),
      runs,
    );
    expect(await head()).toBe(before);
  });

  it('path ids: any text in any path parameter', async () => {
    const before = await head();
    const withParams = routes.filter((r) => r.path.includes('{'));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...withParams),
        text,
        fc.boolean(),
        async (r, id, encode) => {
          const value = encode
            ? encodeURIComponent(id)
            : id.replace(/[^A-Za-z0-9._~:@!$&'()*+,;=-]/g, '');
          const url = r.path.replace(/\{[^}]+\}/g, value);
          await send(
            r.method,
            url,
            auth(tokenFor(r)),
            r.method === 'GET'
              ? undefined
              : { requestedBy: { actorId: 'u', role: 'billing_admin' }, channel: 'support' },
          );
        },
      ),
      runs,
    );
    expect(await head()).toBe(before);
  });

  it('headers: Authorization, Idempotency-Key, X-Correlation-Id, X-Request-Id, Accept, Content-Type', async () => {
    const before = await head();
    await fc.assert(
      fc.asyncProperty(
        route(),
        fc.record(
          {
            authorization: fc.oneof(
              headerText,
              headerText.map((s) => `Bearer ${s}`),
              fc.constant(`Bearer ${TOKENS.all}`),
            ),
            'idempotency-key': headerText,
            'x-correlation-id': headerText,
            'x-request-id': headerText,
            accept: fc.oneof(
              headerText,
              fc.constantFrom('application/x-ndjson', '*/*', 'text/html'),
            ),
            'content-type': fc.oneof(headerText, fc.constant('application/json')),
          },
          { requiredKeys: [] },
        ),
        async (r, headers) => {
          // Bodies stay malformed, so that nothing can be written whatever the headers say.
          await send(
            r.method,
            urlOf(r.path),
            headers,
            r.method === 'GET' ? undefined : '{"requestedBy":',
          );
        },
      ),
      runs,
    );
    expect(await head()).toBe(before);
  });

  it('the log holds no error and no secret after all of it', () => {
    const records = t.log.records();
    expect(records.length).toBeGreaterThan(500);
    expect(records.filter((r) => r['level'] === 'error' || r['level'] === 'fatal')).toEqual([]);
    const raw = t.log.raw();
    for (const token of Object.values(TOKENS)) expect(raw).not.toContain(token);
  });
});
