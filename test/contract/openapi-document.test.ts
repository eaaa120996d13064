import { COMMAND_BODIES } from '../../apps/api/src/docs/openapi-bodies';
import { ERROR_STATUS } from '../../apps/api/src/http/api-error';
import { type OpenApiApp, startOpenApiApp } from '../support/openapi/openapi-app';
import { redoclyLint } from '../support/openapi/redocly-lint';
import type { OpenApiDocument } from '../support/openapi/response-validator';

type Schema = Record<string, unknown>;
interface Parameter {
  $ref?: string;
  name?: string;
  in?: string;
  required?: boolean;
  schema?: Schema;
}
interface MediaType {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}
interface Response {
  description?: string;
  headers?: Record<string, unknown>;
  content?: Record<string, MediaType>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, MediaType> };
  responses: Record<string, Response>;
  'x-required-scope'?: string;
}

const SCOPES = ['subscriptions:write', 'subscriptions:read', 'audit:read', 'events:read', 'ops'];
const PUBLIC = ['GET /health/live', 'GET /health/ready', 'GET /metrics'];

/** The readable operationIds of issue #20; clients are generated against them: keep them. */
const OPERATION_IDS = {
  'POST /v1/subscriptions': 'registerSubscription',
  'POST /v1/subscriptions/{id}/cancellation': 'cancelSubscription',
  'DELETE /v1/subscriptions/{id}/cancellation': 'withdrawCancellation',
  'POST /v1/subscriptions/{id}/reactivation': 'reactivateSubscription',
  'POST /v1/subscriptions/{id}/termination': 'terminateSubscription',
  'DELETE /v1/subscriptions/{id}/termination': 'revokeTermination',
  'GET /v1/subscriptions/{id}': 'getSubscription',
  'GET /v1/subscriptions/{id}/cancellation-preview': 'previewCancellation',
  'POST /v1/accounts/{accountId}/legal-hold': 'placeLegalHold',
  'DELETE /v1/accounts/{accountId}/legal-hold': 'releaseLegalHold',
  'POST /v1/accounts/{accountId}/erasure': 'erasePersonalData',
  'GET /v1/accounts/{accountId}/subscriptions': 'listAccountSubscriptions',
  'GET /v1/accounts/{accountId}/confirmations': 'listAccountConfirmations',
  'GET /v1/audit/events': 'listAuditEvents',
  'GET /v1/audit/purges': 'listPurgeReceipts',
  'GET /v1/events': 'listIntegrationEvents',
  'GET /v1/streams/{streamId}': 'getStream',
  'POST /v1/ops/replay': 'startReplay',
  'GET /v1/ops/replay/{id}': 'getReplay',
  'GET /v1/ops/purges/open': 'listOpenPurges',
  'GET /v1/ops/clock': 'getClock',
  'POST /v1/ops/clock': 'moveClock',
  'GET /health/live': 'getLiveness',
  'GET /health/ready': 'getReadiness',
  'GET /metrics': 'getMetrics',
};

/** Success statuses other than 200. */
const SUCCESS = {
  registerSubscription: '201',
  startReplay: '202',
  createWebhookEndpoint: '201',
  retryWebhookDelivery: '202',
} as Record<string, string>;

/** Names of properties and parameters that are instants. */
const INSTANT = /At$|^(start|end|now|previous|termStart|noticeDeadline|pendingUntil|from|to|asOf)$/;

describe('OpenAPI: the document served at /docs/json', () => {
  let t: OpenApiApp;
  let doc: OpenApiDocument;
  let ops: { key: string; method: string; path: string; op: Operation }[];
  beforeAll(async () => {
    t = await startOpenApiApp();
    doc = await t.document();
    ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({
        key: `${method.toUpperCase()} ${path}`,
        method,
        path,
        op: op as unknown as Operation,
      })),
    );
  });
  afterAll(() => t.close());

  const resolve = (schema: Schema | undefined): Schema | undefined => {
    const ref = schema?.['$ref'];
    if (typeof ref !== 'string') return schema;
    return doc.components?.schemas?.[ref.replace('#/components/schemas/', '')] as Schema;
  };
  const parameters = (op: Operation): Parameter[] =>
    (op.parameters ?? []).map((p) =>
      p.$ref
        ? ((doc.components as { parameters: Record<string, Parameter> }).parameters[
            p.$ref.replace('#/components/parameters/', '')
          ] as Parameter)
        : p,
    );

  it('redocly lint with the recommended rules: no error, no warning', async () => {
    const report = await redoclyLint(doc);
    expect(
      report.problems.map(
        (p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`,
      ),
    ).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 60_000);

  it('operationIds are readable, unique and the ones clients were generated with', () => {
    const ids = ops.map((o) => o.op.operationId);
    expect(ids.filter((id) => !/^[a-z][A-Za-z]+$/.test(id ?? ''))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    const served = Object.fromEntries(ops.map((o) => [o.key, o.op.operationId]));
    expect(served).toMatchObject(OPERATION_IDS);
  });

  it('every operation: summary, tag, security with its scope, a success response with a schema, and its errors in the Error shape under their status', () => {
    const problems: string[] = [];
    for (const { key, op, path } of ops) {
      const say = (what: string) => problems.push(`${key}: ${what}`);
      if (!op.summary) say('no summary');
      if (!op.tags?.length) say('no tag');
      const isPublic = PUBLIC.includes(key);
      if (isPublic) {
        if (op.security?.length !== 0) say('public but security is not []');
      } else {
        if (JSON.stringify(op.security) !== JSON.stringify([{ bearer: [] }]))
          say('no bearer security');
        if (!SCOPES.includes(op['x-required-scope'] ?? '')) say('no x-required-scope');
        for (const status of ['401', '403']) if (!op.responses[status]) say(`no ${status}`);
      }
      const successes = Object.keys(op.responses).filter((s) => s.startsWith('2'));
      const expected = SUCCESS[op.operationId ?? ''] ?? '200';
      if (JSON.stringify(successes) !== JSON.stringify([expected]))
        say(`success statuses ${successes.join(',')}, expected ${expected}`);
      const content = op.responses[expected]?.content ?? {};
      if (Object.keys(content).length === 0) say(`${expected} without content`);
      for (const [media, entry] of Object.entries(content))
        if (!entry.schema) say(`${expected} ${media} without a schema`);
      for (const status of ['400', '503']) if (!op.responses[status]) say(`no ${status}`);
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        if (
          response.content?.['application/json']?.schema?.['$ref'] !== '#/components/schemas/Error'
        )
          say(`${status} is not an Error`);
        const codes = [...(response.description ?? '').matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!);
        if (codes.length === 0) say(`${status} names no error code`);
        for (const code of codes)
          if (String(ERROR_STATUS[code as keyof typeof ERROR_STATUS]) !== status)
            say(
              `${status} lists ${code}, whose status is ${ERROR_STATUS[code as keyof typeof ERROR_STATUS]}`,
            );
      }
      for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
        const p = parameters(op).find((x) => x.in === 'path' && x.name === name);
        if (!p?.required || p.schema?.['type'] !== 'string')
          say(`path parameter ${name} undeclared`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('request bodies: JSON with a schema and examples, 413 and 415; commands also take the Idempotency-Key and give 409 CONCURRENCY_CONFLICT and 422 IDEMPOTENCY_KEY_REUSED', () => {
    const problems: string[] = [];
    const withBody = ops.filter((o) => o.op.requestBody);
    expect(withBody.map((o) => o.key).sort()).toEqual(
      [
        ...Object.keys(COMMAND_BODIES).map((k) => k.replace(/^(\w+) /, (m) => m.toUpperCase())),
        'POST /v1/ops/clock',
        'POST /v1/ops/replay',
        'POST /v1/webhook-endpoints',
      ].sort(),
    );
    for (const { key, method, path, op } of withBody) {
      const say = (what: string) => problems.push(`${key}: ${what}`);
      const json = op.requestBody?.content?.['application/json'];
      if (Object.keys(op.requestBody?.content ?? {}).join() !== 'application/json')
        say('body not application/json');
      if (!json?.schema) say('body without a schema');
      if (!json?.example && Object.keys(json?.examples ?? {}).length === 0) say('no example');
      for (const status of ['413', '415']) if (!op.responses[status]) say(`no ${status}`);
      const idempotent = parameters(op).some(
        (p) => p.in === 'header' && p.name === 'Idempotency-Key',
      );
      const command = `${method} ${path}` in COMMAND_BODIES;
      if (idempotent !== command)
        say(`Idempotency-Key ${idempotent ? 'on a non-command' : 'missing'}`);
      if (command) {
        if (!op.requestBody?.required) say('command body not required');
        if (!op.responses['409']?.description?.includes('CONCURRENCY_CONFLICT'))
          say('no 409 CONCURRENCY_CONFLICT');
        if (!op.responses['422']?.description?.includes('IDEMPOTENCY_KEY_REUSED'))
          say('no 422 IDEMPOTENCY_KEY_REUSED');
      }
    }
    expect(problems).toEqual([]);
    const key = parameters(ops.find((o) => o.key === 'POST /v1/subscriptions')!.op).find(
      (p) => p.name === 'Idempotency-Key',
    );
    expect(key).toMatchObject({ in: 'header', required: false, schema: { type: 'string' } });
  });

  it('parameters: the preview requires role and channel, the stream takes asOf, read-model queries take minPosition and maxWaitMs (503 READ_MODEL_BEHIND, X-Read-Position), pages take limit and cursor', () => {
    const op = (key: string) => ops.find((o) => o.key === key)!.op;
    const query = (key: string) =>
      Object.fromEntries(
        parameters(op(key))
          .filter((p) => p.in === 'query')
          .map((p) => [p.name, { required: p.required ?? false, ...p.schema }]),
      );
    expect(query('GET /v1/subscriptions/{id}/cancellation-preview')).toEqual({
      role: expect.objectContaining({ required: true, type: 'string' }),
      channel: expect.objectContaining({ required: true, enum: ['self_service', 'support'] }),
    });
    expect(query('GET /v1/streams/{streamId}')).toEqual({
      asOf: expect.objectContaining({ required: false, format: 'date-time' }),
    });
    const readModel = [
      'GET /v1/accounts/{accountId}/subscriptions',
      'GET /v1/accounts/{accountId}/confirmations',
      'GET /v1/audit/events',
      'GET /v1/audit/purges',
    ];
    for (const key of readModel) {
      expect([key, query(key)]).toEqual([
        key,
        expect.objectContaining({
          minPosition: expect.objectContaining({ required: false, type: 'string' }),
          maxWaitMs: expect.objectContaining({ required: false, type: 'integer' }),
        }),
      ]);
      expect([key, op(key).responses['503']?.description]).toEqual([
        key,
        expect.stringContaining('READ_MODEL_BEHIND'),
      ]);
      expect(op(key).responses['200']?.headers).toHaveProperty('X-Read-Position');
    }
    for (const key of readModel.slice(1))
      expect([key, query(key)]).toEqual([
        key,
        expect.objectContaining({
          // Decimal digits only on the wire (1e2, 0x10 refused); its default is in its description.
          limit: expect.objectContaining({
            type: 'integer',
            minimum: 1,
            maximum: 1000,
            description: expect.stringContaining('default 100') as string,
          }),
          cursor: expect.objectContaining({ required: false, type: 'string' }),
        }),
      ]);
    expect(query('GET /v1/audit/events')).toEqual(
      expect.objectContaining({
        type: expect.objectContaining({ required: false }),
        from: expect.objectContaining({ format: 'date-time' }),
        to: expect.objectContaining({ format: 'date-time' }),
        format: expect.objectContaining({ enum: ['json', 'ndjson'] }),
      }),
    );
    const clock = op('POST /v1/ops/clock').requestBody;
    expect(clock).toMatchObject({
      required: true,
      content: {
        'application/json': {
          schema: { required: ['now'], properties: { now: { format: 'date-time' } } },
        },
      },
    });
  });

  it('GET /v1/audit/events: the JSON page is the application/json answer, one AuditEvent per line the application/x-ndjson one', () => {
    const ok = ops.find((o) => o.key === 'GET /v1/audit/events')!.op.responses['200']!;
    expect(Object.keys(ok.content!)).toEqual(['application/json', 'application/x-ndjson']);
    const page = ok.content!['application/json']!.schema!;
    expect(page).toMatchObject({
      type: 'object',
      required: ['items', 'nextCursor', 'hasMore'],
      properties: { items: { type: 'array', items: { $ref: '#/components/schemas/AuditEvent' } } },
    });
    expect(page).not.toHaveProperty('oneOf');
    expect(page).not.toHaveProperty('anyOf');
    expect(ok.content!['application/x-ndjson']!.schema).toEqual({
      $ref: '#/components/schemas/AuditEvent',
    });
  });

  it('bearer tokens are opaque (no bearerFormat: JWT); the Error schema names every code of ERROR_STATUS', () => {
    const components = doc.components as {
      securitySchemes: Record<string, Schema>;
      schemas: Record<string, Schema>;
    };
    expect(components.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer', description: expect.any(String) },
    });
    const error = components.schemas['Error'] as {
      properties: { error: { properties: { code: { enum: string[] } } } };
    };
    expect([...error.properties.error.properties.code.enum].sort()).toEqual(
      Object.keys(ERROR_STATUS).sort(),
    );
    expect(error.properties.error.properties.code.enum).toContain('UNSUPPORTED_MEDIA_TYPE');
  });

  it('instants are strings of format date-time, wherever they are', () => {
    const problems: string[] = [];
    const visit = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${where}/${i}`));
      if (node === null || typeof node !== 'object') return;
      const object = node as Record<string, unknown>;
      if (object['properties'] && typeof object['properties'] === 'object')
        for (const [name, schema] of Object.entries(object['properties'] as Schema))
          if (INSTANT.test(name)) check(schema as Schema, `${where}/properties/${name}`);
      if (typeof object['name'] === 'string' && object['in'] && INSTANT.test(object['name']))
        check(object['schema'] as Schema, `${where}(${object['name']})`);
      for (const [key, value] of Object.entries(object)) visit(value, `${where}/${key}`);
    };
    const check = (schema: Schema | undefined, where: string) => {
      const s = resolve(schema);
      const formats = s?.['anyOf']
        ? (s['anyOf'] as Schema[]).map((x) => x['format'])
        : [s?.['format']];
      if (!formats.includes('date-time')) problems.push(where);
    };
    visit(doc.paths, '#/paths');
    visit(doc.components, '#/components');
    expect(problems).toEqual([]);
  });

  it('examples: every request body, the main answers and the named schemas they use', () => {
    const exampleOf = (key: string): unknown => {
      const op = ops.find((o) => o.key === key)!.op;
      const status = SUCCESS[op.operationId ?? ''] ?? '200';
      const media = op.responses[status]!.content!['application/json']!;
      return media.example ?? resolve(media.schema)?.['example'];
    };
    const main = [
      'POST /v1/subscriptions',
      'POST /v1/subscriptions/{id}/cancellation',
      'DELETE /v1/subscriptions/{id}/cancellation',
      'POST /v1/subscriptions/{id}/termination',
      'DELETE /v1/subscriptions/{id}/termination',
      'GET /v1/subscriptions/{id}',
      'GET /v1/subscriptions/{id}/cancellation-preview',
      'POST /v1/accounts/{accountId}/legal-hold',
      'POST /v1/accounts/{accountId}/erasure',
      'POST /v1/ops/replay',
      'GET /v1/ops/clock',
      'POST /v1/ops/clock',
    ];
    expect(main.filter((key) => exampleOf(key) === undefined)).toEqual([]);
    const schemas = doc.components!.schemas as Record<string, Schema>;
    for (const name of ['Subscription', 'ListedSubscription', 'AuditEvent', 'Plan', 'Error'])
      expect([name, schemas[name]?.['example']]).toEqual([name, expect.anything()]);
  });

  it('every documented operation is served (and the docs themselves are not in the document)', () => {
    const fastify = t.app.getHttpAdapter().getInstance();
    const unserved = ops.filter(
      ({ method, path }) =>
        !fastify.hasRoute({
          method: method.toUpperCase(),
          url: path.replace(/\{([^}]+)\}/g, ':$1'),
        }),
    );
    expect(unserved.map((o) => o.key)).toEqual([]);
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/docs'))).toEqual([]);
  });
});
