import { auth, registrationBody, startApp, type TestApp, TOKENS } from '../support/app-harness';
import { type Route, servedRoutes, urlOf } from './support/routes';

/**
 * The edge, table-driven over the served routes (from the app's own OpenAPI document, so a new
 * route is covered at once): each abusive request gets its status in the API's error shape and
 * writes nothing. Socket-level abuse (oversized headers, malformed HTTP, slow clients) is in
 * test/integration/http/edge.test.ts.
 */
describe('abusive requests on every route: the status, the error shape, and nothing written', () => {
  let t: TestApp;
  let routes: Route[];
  beforeAll(async () => {
    t = await startApp({ logLevel: 'info' });
    routes = await servedRoutes(t);
    const reg = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions',
      headers: auth(TOKENS.writer),
      payload: registrationBody({ subscriptionId: 'sub_abuse', accountId: 'acc_abuse' }),
    });
    expect(reg.statusCode).toBe(201);
  });
  afterAll(() => t.close());

  const head = async () => (await t.raw.headPosition())?.toString() ?? null;
  const writes = () => routes.filter((r) => r.method !== 'GET' && r.path.startsWith('/v1/'));
  const withParams = () => routes.filter((r) => r.path.includes('{'));
  /** Sends the request, checks status and error shape, and that the log did not move. */
  async function expectRefused(
    request: { method: string; url: string; headers?: Record<string, string>; payload?: string },
    status: number,
    code: string,
  ): Promise<void> {
    const before = await head();
    const res = await t.app.inject({
      method: request.method as 'GET',
      url: request.url,
      headers: { ...auth(TOKENS.all), ...request.headers },
      ...(request.payload === undefined ? {} : { payload: request.payload }),
    });
    expect([request.method, request.url, res.statusCode]).toEqual([
      request.method,
      request.url,
      status,
    ]);
    expect(res.json()).toEqual({
      error: { code, message: expect.any(String) as string, ...detailsIfAny(res.json()) },
    });
    expect(await head()).toBe(before);
  }
  const detailsIfAny = (body: { error?: { details?: unknown } }) =>
    body.error?.details === undefined ? {} : { details: body.error.details };

  it.each([
    ['a form', 'application/x-www-form-urlencoded', 'now=2027-01-01T00:00:00Z'],
    ['XML', 'application/xml', '<cancel/>'],
    ['multipart', 'multipart/form-data; boundary=b', '--b\r\n\r\nx\r\n--b--'],
    ['text', 'text/plain', '{}'],
  ])(
    'a body sent as %s is 415 UNSUPPORTED_MEDIA_TYPE on every command route',
    async (_l, type, payload) => {
      for (const r of writes())
        await expectRefused(
          {
            method: r.method,
            url: urlOf(r.path, 'sub_abuse'),
            headers: { 'content-type': type },
            payload,
          },
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        );
    },
  );

  it('an overlong path parameter is 414 URI_TOO_LONG on every route with one', async () => {
    for (const r of withParams())
      await expectRefused(
        {
          method: r.method,
          url: urlOf(r.path, 'a'.repeat(150)),
          ...(r.method === 'GET'
            ? {}
            : { headers: { 'content-type': 'application/json' }, payload: '{}' }),
        },
        414,
        'URI_TOO_LONG',
      );
  });

  it('malformed percent-encoding in a path parameter is 400 on every route with one', async () => {
    for (const r of withParams())
      await expectRefused(
        {
          method: r.method,
          url: r.path.replace(/\{[^}]+\}/g, '%E0%A4%A'),
          ...(r.method === 'GET'
            ? {}
            : { headers: { 'content-type': 'application/json' }, payload: '{}' }),
        },
        400,
        'VALIDATION_FAILED',
      );
  });

  const json = { 'content-type': 'application/json' };
  const admin = { actorId: 'usr_1', role: 'billing_admin' };
  it.each([
    [
      'a bidi override in a survey comment',
      'POST',
      '/v1/subscriptions/sub_abuse/cancellation',
      {
        requestedBy: admin,
        channel: 'self_service',
        survey: { reason: 'other', comment: 'ok\u202Eevil' },
      },
    ],
    [
      'a NUL in an actor id',
      'POST',
      '/v1/subscriptions/sub_abuse/cancellation',
      { requestedBy: { actorId: 'usr\u0000x', role: 'billing_admin' }, channel: 'self_service' },
    ],
    [
      'a line break in an actor id',
      'DELETE',
      '/v1/subscriptions/sub_abuse/cancellation',
      { requestedBy: { actorId: 'usr\nx', role: 'billing_admin' }, channel: 'self_service' },
    ],
    [
      'a control character in a hold reason',
      'POST',
      '/v1/accounts/acc_abuse/legal-hold',
      { reason: 'case \u0007 17', requestedBy: admin },
    ],
    [
      'a right-to-left isolate in a termination note',
      'POST',
      '/v1/subscriptions/sub_abuse/termination',
      { requestedBy: admin, reason: 'other', effective: 'term_end', note: 'x\u2067y' },
    ],
    [
      'a term start in year 9999',
      'POST',
      '/v1/subscriptions',
      registrationBody({ subscriptionId: 'sub_y9999', termStart: '9999-12-31T00:00:00Z' }),
    ],
    [
      'a term start in year 1',
      'POST',
      '/v1/subscriptions',
      registrationBody({ subscriptionId: 'sub_y1', termStart: '0001-01-01T00:00:00Z' }),
    ],
    [
      'three decimals of euro',
      'POST',
      '/v1/subscriptions',
      registrationBody({
        subscriptionId: 'sub_eur',
        outstandingBalance: { amount: '12.345', currency: 'EUR' },
      }),
    ],
    [
      'decimals of yen',
      'POST',
      '/v1/subscriptions',
      registrationBody({
        subscriptionId: 'sub_jpy',
        outstandingBalance: { amount: '5.5', currency: 'JPY' },
      }),
    ],
    [
      'a currency that does not exist',
      'PUT',
      '/v1/subscriptions/sub_abuse/billing-facts',
      { outstandingBalance: { amount: '1.00', currency: 'ABC' } },
    ],
    [
      'a time zone that does not exist',
      'POST',
      '/v1/subscriptions',
      registrationBody({ subscriptionId: 'sub_tz', timeZone: 'Europe/Atlantis' }),
    ],
  ])('%s is 400 VALIDATION_FAILED', async (_l, method, url, body) => {
    await expectRefused(
      { method, url, headers: json, payload: JSON.stringify(body) },
      400,
      'VALIDATION_FAILED',
    );
  });

  it.each(['0x10', '1e2', ' 5', '+5', '5.0', '-1', '99999999999999999999'])(
    'limit=%j (not decimal digits, or out of range) is 400 on every paged query',
    async (limit) => {
      for (const url of [
        '/v1/audit/events',
        '/v1/audit/purges',
        '/v1/accounts/acc_abuse/confirmations',
      ])
        await expectRefused(
          { method: 'GET', url: `${url}?limit=${encodeURIComponent(limit)}` },
          400,
          'VALIDATION_FAILED',
        );
    },
  );

  it('maxWaitMs in hexadecimal is 400', async () => {
    await expectRefused(
      { method: 'GET', url: '/v1/audit/events?maxWaitMs=0x10' },
      400,
      'VALIDATION_FAILED',
    );
  });

  it.each([
    [
      'a legal hold',
      'POST',
      '/v1/accounts/acc_nobody/legal-hold',
      { reason: 'case 1', requestedBy: admin },
    ],
    [
      'a hold release',
      'DELETE',
      '/v1/accounts/acc_nobody/legal-hold',
      { reason: 'case 1', requestedBy: admin },
    ],
    [
      'an erasure',
      'POST',
      '/v1/accounts/acc_nobody/erasure',
      { reason: 'ticket 1', requestedBy: admin },
    ],
    [
      'a cancellation',
      'POST',
      '/v1/subscriptions/sub_nobody/cancellation',
      { requestedBy: admin, channel: 'self_service' },
    ],
    [
      'a termination',
      'POST',
      '/v1/subscriptions/sub_nobody/termination',
      { requestedBy: admin, reason: 'other', effective: 'term_end' },
    ],
    ['billing facts', 'PUT', '/v1/subscriptions/sub_nobody/billing-facts', { assignedLicences: 3 }],
  ])(
    '%s on an account or subscription the service never heard of is 404 and writes nothing',
    async (_l, method, url, body) => {
      await expectRefused(
        { method, url, headers: json, payload: JSON.stringify(body) },
        404,
        'NOT_FOUND',
      );
    },
  );

  it('a time zone in another case is canonicalised: the subscription is stored in Europe/Rome', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions',
      headers: { ...auth(TOKENS.writer), ...json },
      payload: JSON.stringify(
        registrationBody({ subscriptionId: 'sub_zone', timeZone: 'europe/rome' }),
      ),
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().timeZone).toBe('Europe/Rome');
  });

  it('a JSON content type on an empty body is a request without a body: 401 without a token on every write route, and a body-less route answers as documented', async () => {
    for (const r of writes()) {
      const res = await t.app.inject({
        method: r.method as 'POST',
        url: urlOf(r.path, 'sub_abuse'),
        headers: { 'content-type': 'application/json' },
      });
      expect([r.method, r.path, res.statusCode]).toEqual([r.method, r.path, 401]);
    }
    const missing = await t.app.inject({
      method: 'DELETE',
      url: '/v1/webhook-endpoints/we_missing',
      headers: { ...auth(TOKENS.ops), 'content-type': 'application/json' },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
    // A route that needs a body still says so, in the API's shape, after the token was checked.
    await expectRefused(
      {
        method: 'POST',
        url: '/v1/subscriptions/sub_abuse/cancellation',
        headers: { 'content-type': 'application/json' },
      },
      400,
      'VALIDATION_FAILED',
    );
  });

  it('none of these requests logged an error', () => {
    const errors = t.log.records().filter((r) => r['level'] === 'error' || r['level'] === 'fatal');
    expect(errors).toEqual([]);
  });
});
