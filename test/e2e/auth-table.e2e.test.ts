import type { EventStore } from '@app/event-store';
import { RAW_EVENT_STORE } from '@app/infrastructure';
import { auth, type TestApp, startApp, TOKENS } from '../support/app-harness';
import { type Route, servedRoutes, urlOf } from './support/routes';

/** docs/http-api.md, route by route: who may call it. Public routes need no token. */
const CONTRACT: readonly Route[] = [
  { method: 'POST', path: '/v1/subscriptions', scope: 'subscriptions:write' },
  { method: 'POST', path: '/v1/subscriptions/{id}/cancellation', scope: 'subscriptions:write' },
  { method: 'DELETE', path: '/v1/subscriptions/{id}/cancellation', scope: 'subscriptions:write' },
  { method: 'POST', path: '/v1/subscriptions/{id}/reactivation', scope: 'subscriptions:write' },
  { method: 'POST', path: '/v1/subscriptions/{id}/termination', scope: 'subscriptions:write' },
  { method: 'DELETE', path: '/v1/subscriptions/{id}/termination', scope: 'subscriptions:write' },
  { method: 'PUT', path: '/v1/subscriptions/{id}/billing-facts', scope: 'subscriptions:write' },
  { method: 'POST', path: '/v1/accounts/{accountId}/legal-hold', scope: 'ops' },
  { method: 'DELETE', path: '/v1/accounts/{accountId}/legal-hold', scope: 'ops' },
  { method: 'POST', path: '/v1/accounts/{accountId}/erasure', scope: 'ops' },
  { method: 'GET', path: '/v1/subscriptions/{id}', scope: 'subscriptions:read' },
  {
    method: 'GET',
    path: '/v1/subscriptions/{id}/cancellation-preview',
    scope: 'subscriptions:read',
  },
  { method: 'GET', path: '/v1/accounts/{accountId}/subscriptions', scope: 'subscriptions:read' },
  { method: 'GET', path: '/v1/audit/events', scope: 'audit:read' },
  { method: 'GET', path: '/v1/audit/purges', scope: 'audit:read' },
  { method: 'GET', path: '/v1/events', scope: 'events:read' },
  { method: 'GET', path: '/v1/streams/{streamId}', scope: 'ops' },
  { method: 'POST', path: '/v1/ops/replay', scope: 'ops' },
  { method: 'GET', path: '/v1/ops/clock', scope: 'ops' },
  { method: 'POST', path: '/v1/ops/clock', scope: 'ops' },
  { method: 'GET', path: '/health/live', scope: null },
  { method: 'GET', path: '/health/ready', scope: null },
  { method: 'GET', path: '/metrics', scope: null },
];

const SINGLE_SCOPE_TOKENS: Record<string, string> = {
  'subscriptions:write': TOKENS.writer,
  'subscriptions:read': TOKENS.reader,
  'audit:read': TOKENS.auditor,
  'events:read': TOKENS.events,
  ops: TOKENS.ops,
};

describe('auth table over every route (docs/http-api.md): no token 401, unknown token 401, wrong scope 403, and nothing written', () => {
  let t: TestApp;
  let routes: Route[];
  beforeAll(async () => {
    t = await startApp({ logLevel: 'warn' });
    routes = await servedRoutes(t);
  });
  afterAll(() => t.close());
  const key = (r: Route) => `${r.method} ${r.path}`;
  const send = (r: Route, headers: Record<string, string>) =>
    t.app.inject({
      method: r.method,
      url: urlOf(r.path),
      headers,
      ...(r.method === 'GET' ? {} : { payload: {} }),
    });

  it('every route of docs/http-api.md is served with the scope docs/http-api.md gives it', () => {
    const served = new Map(routes.map((r) => [key(r), r.scope]));
    const missing = CONTRACT.filter((r) => !served.has(key(r))).map(key);
    expect(missing).toEqual([]);
    for (const r of CONTRACT)
      if (served.has(key(r))) expect([key(r), served.get(key(r))]).toEqual([key(r), r.scope]);
    // And no served route is left without a declared scope (the guard would close it anyway).
    expect(routes.filter((r) => r.scope === '?').map(key)).toEqual([]);
  });

  it('401 UNAUTHENTICATED without a token, with an unknown token or a malformed header; 403 FORBIDDEN_SCOPE with any other scope', async () => {
    const store = t.app.get<EventStore>(RAW_EVENT_STORE);
    const head = await store.headPosition();
    const protectedRoutes = routes.filter((r) => r.scope !== null);
    expect(protectedRoutes.length).toBeGreaterThanOrEqual(14);
    for (const r of protectedRoutes) {
      for (const headers of [
        {},
        auth('tok-nobody'),
        { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
        { authorization: 'Bearer' },
        { authorization: `Bearer ${TOKENS.writer} extra` },
      ]) {
        const res = await send(r, headers);
        expect([key(r), headers, res.statusCode, res.json().error.code]).toEqual([
          key(r),
          headers,
          401,
          'UNAUTHENTICATED',
        ]);
      }
      for (const [scope, token] of Object.entries(SINGLE_SCOPE_TOKENS)) {
        if (scope === r.scope) continue;
        const res = await send(r, auth(token));
        expect([key(r), scope, res.statusCode, res.json().error.code]).toEqual([
          key(r),
          scope,
          403,
          'FORBIDDEN_SCOPE',
        ]);
        expect(res.json().error.details).toEqual({ requiredScope: r.scope });
      }
      // The right scope gets past the guard (whatever the route then says about the empty input).
      const allowed = await send(r, auth(SINGLE_SCOPE_TOKENS[r.scope!]!));
      expect([key(r), allowed.statusCode]).not.toEqual([key(r), 401]);
      expect([
        key(r),
        allowed.statusCode === 403 && allowed.json().error.code === 'FORBIDDEN_SCOPE',
      ]).toEqual([key(r), false]);
      expect(allowed.statusCode).toBeLessThan(500);
    }
    // A malformed or unauthenticated request writes nothing (docs/http-api.md).
    expect(await store.headPosition()).toBe(head);
  });

  it('public routes answer without a token', async () => {
    for (const r of routes.filter((x) => x.scope === null)) {
      const res = await send(r, {});
      expect([key(r), res.statusCode]).toEqual([key(r), 200]);
    }
  });
});
