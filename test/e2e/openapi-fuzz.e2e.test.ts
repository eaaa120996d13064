import fc from 'fast-check';
import { auth, registrationBody, startApp, type TestApp, TOKENS } from '../support/app-harness';
import {
  type JsonSchema,
  mutated,
  resolverOf,
  validValue,
} from '../support/openapi/schema-arbitrary';

/**
 * Property-based fuzzing of the command bodies from the OpenAPI document's own request schemas:
 * bodies the document calls valid, and the same bodies with one part broken. Whatever comes,
 * the answer is never a 5xx, a refusal writes nothing but a recorded policy refusal, and
 * (through the harness) every answer
 * matches the schema the document declares for it.
 */
describe('command bodies generated from the OpenAPI schemas (fast-check)', () => {
  let t: TestApp;
  let operations: { method: string; path: string; schema: JsonSchema }[];
  let resolve: ReturnType<typeof resolverOf>;
  beforeAll(async () => {
    t = await startApp({ logLevel: 'warn' });
    const document = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<
        string,
        Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>
      >;
      components?: { schemas?: Record<string, JsonSchema> };
    }>();
    resolve = resolverOf(document);
    operations = [];
    for (const [path, item] of Object.entries(document.paths))
      for (const [method, op] of Object.entries(item)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (schema && path.startsWith('/v1/')) operations.push({ method, path, schema });
      }
    for (const id of ['sub_fz1', 'sub_fz2']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/subscriptions',
        headers: auth(TOKENS.all),
        payload: registrationBody({ subscriptionId: id, accountId: 'acc_fz' }),
      });
      expect(res.statusCode).toBe(201);
    }
  });
  afterAll(() => t.close());

  const urlOf = (path: string) =>
    path
      .replace('{id}', 'sub_fz1')
      .replace('{accountId}', 'acc_fz')
      .replace(/\{[^}]+\}/g, 'x');
  const head = async () => (await t.raw.headPosition())?.toString() ?? null;
  const send = async (method: string, path: string, body: unknown) => {
    const before = await head();
    const res = await t.app.inject({
      method: method.toUpperCase() as 'POST',
      url: urlOf(path),
      headers: { ...auth(TOKENS.all), 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    if (res.statusCode >= 500)
      throw new Error(`${method} ${path} ${JSON.stringify(body)} → ${res.statusCode} ${res.body}`);
    // A refusal writes nothing, unless the policy refused a well-formed request: that refusal
    // is recorded as an event and says so (D6, D8, D10: details.recorded).
    if (res.statusCode >= 400 && (await head()) !== before)
      expect([
        res.statusCode,
        res.json<{ error: { details?: { recorded?: boolean } } }>().error,
      ]).toEqual([
        res.statusCode,
        expect.objectContaining({ details: expect.objectContaining({ recorded: true }) }),
      ]);
    return res.statusCode;
  };

  it('the document names a request schema for every command route', () => {
    expect(operations.map((o) => `${o.method} ${o.path}`).sort()).toEqual(
      expect.arrayContaining([
        'post /v1/subscriptions',
        'post /v1/subscriptions/{id}/cancellation',
        'post /v1/subscriptions/{id}/termination',
        'put /v1/subscriptions/{id}/billing-facts',
        'post /v1/accounts/{accountId}/legal-hold',
      ]),
    );
  });

  it('bodies the schemas call valid are never answered 5xx, and some of them are taken', async () => {
    const statuses: number[] = [];
    for (const op of operations)
      await fc.assert(
        fc.asyncProperty(validValue(op.schema, resolve), async (body) => {
          statuses.push(await send(op.method, op.path, body));
        }),
        { numRuns: 25 },
      );
    // Not vacuous: well-formed bodies get through to the domain (2xx, or a domain refusal).
    expect(statuses.filter((s) => s < 300).length).toBeGreaterThan(operations.length);
  });

  it('bodies with one part broken are never 5xx, and a refusal writes nothing unless it is a recorded policy refusal', async () => {
    const statuses: number[] = [];
    for (const op of operations)
      await fc.assert(
        fc.asyncProperty(mutated(op.schema, resolve), async (body) => {
          statuses.push(await send(op.method, op.path, body));
        }),
        { numRuns: 25 },
      );
    expect(statuses.filter((s) => s === 400).length).toBeGreaterThan(operations.length);
  });
});
