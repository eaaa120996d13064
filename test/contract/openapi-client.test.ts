import { LIFECYCLE_CLIENT_SOURCE } from '../support/openapi/lifecycle-client.source';
import { OPENAPI_TOKENS, type OpenApiApp, startOpenApiApp } from '../support/openapi/openapi-app';
import type { OpenApiDocument } from '../support/openapi/response-validator';
import { type CompiledClient, compileClient } from '../support/openapi/typed-client';

/** What the compiled client module exports (its own types are checked when it compiles). */
interface LifecycleModule {
  runLifecycle(baseUrl: string, token: string): Promise<Record<string, Record<string, unknown>>>;
}

/**
 * Issue #20: a client generated from the served document drives a whole lifecycle with no cast.
 * openapi-typescript turns GET /docs/json into TypeScript types, a small openapi-fetch client
 * (test/support/openapi/lifecycle-client.source.ts) is compiled against them (strict, noEmit),
 * then transpiled and run against the app's real HTTP server.
 */
describe('OpenAPI: a typed client generated from the served document', () => {
  let t: OpenApiApp;
  let document: OpenApiDocument;
  let client: CompiledClient | null = null;
  beforeAll(async () => {
    t = await startOpenApiApp();
    document = await t.document();
  });
  afterAll(async () => {
    client?.remove();
    await t.close();
  });

  it('compiles against the generated types without a cast (strict, noUncheckedIndexedAccess)', async () => {
    client = await compileClient(document, LIFECYCLE_CLIENT_SOURCE);
    expect(client.diagnostics).toEqual([]);
    // The JSON page of the audit events is one type, not a union with the NDJSON line.
    expect(client.types).toContain('"application/x-ndjson": components["schemas"]["AuditEvent"]');
    expect(client.types).not.toMatch(/bearerFormat|JWT/);
  }, 60_000);

  it('drives register, read, cancel, preview, withdraw, cancel again, terminate, revoke, legal hold and audit events against the real server', async () => {
    expect(client?.diagnostics).toEqual([]);
    const { runLifecycle } = client!.load<LifecycleModule>();
    const report = await runLifecycle(t.baseUrl, OPENAPI_TOKENS.all);

    expect(report['registered']).toEqual({
      subscriptionId: 'sub_openapi_client',
      status: 'active',
      position: expect.stringMatching(/^\d+$/),
    });
    expect(report['read']).toEqual({
      status: 'active',
      revision: 0,
      termEnd: expect.any(String),
    });
    expect(report['cancelled']).toEqual({
      status: 'cancellation_pending',
      effectiveAt: report['read']!['termEnd'],
      purgeAt: expect.any(String),
      events: ['CancellationRequested', 'AutoRenewDisabled'],
    });
    expect(Date.parse(report['cancelled']!['purgeAt'] as string)).toBeGreaterThan(
      Date.parse(report['cancelled']!['effectiveAt'] as string),
    );
    expect(report['preview']).toMatchObject({ effectiveAt: report['read']!['termEnd'] });
    expect(report['previewAsUser']).toEqual({ allowed: false, refusal: 'FORBIDDEN_ROLE' });
    expect(report['withdrawn']).toEqual({
      status: 'active',
      events: ['CancellationWithdrawn', 'AutoRenewEnabled'],
    });
    expect(report['cancelledAgain']).toEqual({
      status: 'cancellation_pending',
      pendingUntil: report['read']!['termEnd'],
    });
    expect(report['terminated']).toEqual({
      reason: 'payment_failed',
      effectiveAt: report['read']!['termEnd'],
      status: 'cancellation_pending',
    });
    expect(report['revoked']).toEqual({ termination: null, events: ['TerminationRevoked'] });
    expect(report['legalHold']).toEqual({
      legalHold: true,
      holdId: expect.any(String),
      subscriptionLegalHold: true,
    });
    expect(report['audit']).toMatchObject({
      types: expect.arrayContaining([
        'SubscriptionRegistered',
        'CancellationRequested',
        'CancellationWithdrawn',
        'TerminationScheduled',
        'TerminationRevoked',
        'LegalHoldPlaced',
      ]),
      hasMore: false,
      nextCursor: expect.any(String),
    });
    expect(report['unknown']).toEqual({ status: 404, code: 'NOT_FOUND' });
  }, 60_000);

  it('fails to compile when the document does not declare what the client reads (a success response without a schema)', async () => {
    // The document as it was before issue #20 for GET /v1/subscriptions/{id}: 200 with no schema.
    const broken = structuredClone(document);
    const ok = broken.paths['/v1/subscriptions/{id}']!['get']!.responses['200']!;
    delete ok.content;
    const failing = await compileClient(broken, LIFECYCLE_CLIENT_SOURCE);
    try {
      expect(failing.diagnostics.join('\n')).toMatch(
        /client\.ts\(\d+,\d+\): error TS2339: Property 'status' does not exist on type 'never'/,
      );
    } finally {
      failing.remove();
    }
  }, 60_000);
});
