import type { TestApp } from '../../support/app-harness';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Route {
  method: Method;
  /** OpenAPI path, e.g. /v1/subscriptions/{id}/cancellation. */
  path: string;
  /** null: public (no token). */
  scope: string | null;
}

/** Every route the app serves, from its own OpenAPI document (so new routes are covered too). */
export async function servedRoutes(t: TestApp): Promise<Route[]> {
  const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{
    paths: Record<string, Record<string, { security?: unknown[]; 'x-required-scope'?: string }>>;
  }>();
  const routes: Route[] = [];
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item))
      routes.push({
        method: method.toUpperCase() as Method,
        path,
        scope: op.security && op.security.length === 0 ? null : (op['x-required-scope'] ?? '?'),
      });
  // Served but kept out of the document: the docs themselves, and the queue dashboard (a
  // Fastify plugin with its own bearer check, outside Nest's router).
  routes.push({ method: 'GET', path: '/docs', scope: null });
  routes.push({ method: 'GET', path: '/docs/json', scope: null });
  routes.push({ method: 'GET', path: '/ops/queues', scope: 'ops' });
  return routes;
}

/** A concrete URL for an OpenAPI path, with every {param} replaced. */
export const urlOf = (path: string, value = 'x_1'): string =>
  path.replace(/\{[^}]+\}/g, encodeURIComponent(value));
