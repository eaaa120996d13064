import { subscriptionStreamId } from '@app/domain';
import { MetricsService } from '@app/metrics';
import { ReadStore } from '@app/read-models';
import { auth, type TestApp, registrationBody, startApp, TOKENS } from '../support/app-harness';

const SECRET = {
  email: 'ada@example.org',
  address: '10 Downing Street, London',
  comment: 'call me on 555-0100',
};
// Four digits alone also turn up in generated request ids (a CI run once failed on a uuid
// holding "4242") and in numbers such as a pid, so the card digits are looked for inside a
// string value, not next to other hex digits, and the field name is looked for too.
const LAST4 = '4242';

describe('observability: metrics, request logs, OpenAPI, readiness (real app)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ logLevel: 'info' });
  });
  afterAll(() => t.close());

  const inject = (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    headers: Record<string, string> = {},
    payload?: unknown,
  ) =>
    t.app.inject({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  it('GET /metrics (no token): commands by type and outcome with latencies, HTTP latencies, projection lag, and the job-lag/purge/reconciler hooks', async () => {
    const write = auth(TOKENS.writer);
    await inject('POST', '/v1/subscriptions', write, registrationBody({ subscriptionId: 'm_1' }));
    await inject(
      'POST',
      '/v1/subscriptions',
      write,
      registrationBody({
        subscriptionId: 'm_owing',
        outstandingBalance: { amount: '5.00', currency: 'EUR' },
      }),
    );
    const requestedBy = { actorId: 'usr_1', role: 'billing_admin' };
    const refused = await inject('POST', '/v1/subscriptions/m_owing/cancellation', write, {
      requestedBy,
      channel: 'self_service',
    });
    expect(refused.statusCode).toBe(422);
    const missing = await inject('DELETE', '/v1/subscriptions/m_missing/cancellation', write, {
      requestedBy,
      channel: 'self_service',
    });
    expect(missing.statusCode).toBe(404);
    const metrics = t.app.get(MetricsService);
    metrics.observeJobLag('lifecycle', 'expire', 0.2);
    metrics.recordPurge('completed');
    metrics.recordReconcilerRepairs('job_recreated', 3);
    const head = (await t.raw.headPosition())!.toString();
    await inject('GET', `/v1/audit/events?minPosition=${head}`, auth(TOKENS.auditor));

    const res = await inject('GET', '/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    const value = (line: string) => {
      const found = text.split('\n').find((l) => l.startsWith(line));
      return found === undefined ? undefined : Number(found.slice(line.length).trim());
    };
    expect(
      value('subscriptions_commands_total{type="RegisterSubscription",outcome="written"}'),
    ).toBe(2);
    expect(
      value('subscriptions_commands_total{type="RequestCancellation",outcome="refused"}'),
    ).toBe(1);
    expect(
      value('subscriptions_commands_total{type="WithdrawCancellation",outcome="NOT_FOUND"}'),
    ).toBe(1);
    expect(
      value(
        'subscriptions_command_duration_seconds_count{type="RegisterSubscription",outcome="written"}',
      ),
    ).toBe(2);
    expect(text).toContain(
      'subscriptions_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/v1/subscriptions",status_code="201"}',
    );
    expect(value('subscriptions_read_model_lag_positions')).toBe(0);
    expect(value('subscriptions_read_model_checkpoint_position')).toBe(Number(head));
    expect(value('subscriptions_job_lag_seconds_count{queue="lifecycle",job="expire"}')).toBe(1);
    expect(value('subscriptions_purges_total{outcome="completed"}')).toBe(1);
    expect(value('subscriptions_reconciler_repairs_total{kind="job_recreated"}')).toBe(3);
    expect(text).toContain('subscriptions_process_resident_memory_bytes');
    expect(text).not.toContain(TOKENS.writer);
  });

  it('request log: one line per request with request id and correlation id (the one in the events); no token, no personal data', async () => {
    t.log.clear();
    const res = await inject(
      'POST',
      '/v1/subscriptions',
      { ...auth(TOKENS.writer), 'x-request-id': 'req-obs-1', 'x-correlation-id': 'corr-obs-1' },
      registrationBody({ subscriptionId: 'log_1', contract: true }),
    );
    expect(res.headers['x-request-id']).toBe('req-obs-1');
    expect(res.headers['x-correlation-id']).toBe('corr-obs-1');
    const cancel = await inject(
      'POST',
      '/v1/subscriptions/log_1/cancellation',
      { ...auth(TOKENS.writer), 'x-correlation-id': 'corr-obs-2' },
      {
        requestedBy: { actorId: 'usr_1', role: 'billing_admin' },
        channel: 'support',
        survey: { reason: 'other', comment: SECRET.comment },
        verification: {
          billingAdminEmail: SECRET.email,
          paymentLast4: LAST4,
          billingAddress: SECRET.address,
        },
      },
    );
    expect(cancel.statusCode).toBe(200);
    const generated = cancel.headers['x-request-id'] as string;
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    await inject('GET', '/v1/nowhere', auth('tok-unknown-secret'));

    const lines = t.log.records().filter((r) => r['component'] === 'http');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      level: 'info',
      name: 'api',
      msg: 'request',
      reqId: 'req-obs-1',
      correlationId: 'corr-obs-1',
      method: 'POST',
      route: '/v1/subscriptions',
      path: '/v1/subscriptions',
      statusCode: 201,
      service: 'billing',
      ms: expect.any(Number),
    });
    expect(lines[1]).toMatchObject({
      reqId: generated,
      correlationId: 'corr-obs-2',
      statusCode: 200,
    });
    expect(lines[2]).toMatchObject({ route: 'unmatched', statusCode: 404, service: null });
    // The correlation id of the request is carried into the events it wrote.
    const events = await t.raw.readStream(subscriptionStreamId('log_1'));
    expect(events.map((e) => e.metadata.correlationId)).toEqual([
      'corr-obs-1',
      'corr-obs-2',
      'corr-obs-2',
    ]);
    const raw = t.log.raw();
    for (const secret of [...Object.values(SECRET), TOKENS.writer, 'tok-unknown-secret'])
      expect(raw).not.toContain(secret);
    expect(raw).not.toMatch(/last4/i);
    const strings = JSON.stringify(t.log.records(), (_key, value: unknown) =>
      typeof value === 'number' ? null : value,
    );
    expect(strings).not.toMatch(new RegExp(`(?<![0-9a-f-])${LAST4}(?![0-9a-f-])`));
  });

  it('GET /docs/json: the OpenAPI document generated from the code (routes, scopes, query and body schemas); GET /docs serves Swagger UI', async () => {
    const res = await inject('GET', '/docs/json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const audit = doc.paths['/v1/audit/events'].get;
    expect(audit['x-required-scope']).toBe('audit:read');
    expect(audit.security).toEqual([{ bearer: [] }]);
    expect(audit.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining([
        'accountId',
        'subscriptionId',
        'actorId',
        'type',
        'from',
        'to',
        'limit',
        'cursor',
        'minPosition',
      ]),
    );
    expect(audit.responses['401']).toBeDefined();
    expect(audit.responses['200'].content['application/json'].schema.properties).toHaveProperty(
      'nextCursor',
    );
    expect(doc.paths['/v1/accounts/{accountId}/subscriptions'].get['x-required-scope']).toBe(
      'subscriptions:read',
    );
    expect(doc.paths['/v1/audit/purges'].get['x-required-scope']).toBe('audit:read');
    const cancel = doc.paths['/v1/subscriptions/{id}/cancellation'].post;
    expect(cancel['x-required-scope']).toBe('subscriptions:write');
    expect(cancel.requestBody.content['application/json'].schema.properties).toHaveProperty(
      'verification',
    );
    expect(doc.paths['/health/ready'].get.security).toEqual([]);
    expect(doc.paths['/metrics'].get.security).toEqual([]);

    const ui = await inject('GET', '/docs');
    expect([ui.statusCode, ui.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
    expect(ui.body).toContain('/docs/assets/swagger-ui-bundle.js');
    const asset = await inject('GET', '/docs/assets/swagger-ui-bundle.js');
    expect(asset.statusCode).toBe(200);
    expect((await inject('GET', '/docs/init.js')).body).toContain("url: '/docs/json'");
    const traversal = await inject('GET', '/docs/assets/..%2Fpackage.json');
    expect([traversal.statusCode, traversal.json().error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('GET /health/ready (terminus): event store and read store up; read store down → 503 SERVICE_UNAVAILABLE naming it', async () => {
    const ok = await inject('GET', '/health/ready');
    expect([ok.statusCode, ok.json()]).toEqual([
      200,
      { status: 'ok', checks: expect.objectContaining({ eventStore: 'up', readStore: 'up' }) },
    ]);
    const store = t.app.get(ReadStore);
    const ping = jest.spyOn(store, 'ping').mockRejectedValue(new Error('connection refused'));
    try {
      const down = await inject('GET', '/health/ready');
      expect(down.statusCode).toBe(503);
      expect(down.json()).toEqual({
        error: {
          code: 'SERVICE_UNAVAILABLE',
          message: expect.stringContaining('readStore'),
          details: expect.objectContaining({ eventStore: 'up', readStore: 'down' }),
        },
      });
      expect((await inject('GET', '/health/live')).statusCode).toBe(200);
    } finally {
      ping.mockRestore();
    }
  });
});
