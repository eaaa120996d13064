import { IntegrationEventReader, ReadDb } from '@app/read-models';
import type { WebhooksModuleOptions } from '@app/webhooks';
import { auth, registrationBody, startApp, type TestApp, TOKENS } from '../../support/app-harness';
import { eventually, WebhookReceiver } from '../../support/webhook-receiver';

const admin = { actorId: 'usr_admin', role: 'billing_admin' };

/** Settings that make the tests quick: short polls and backoff, a long timeout. */
export const FAST: WebhooksModuleOptions['settings'] = {
  pollIntervalMs: 20,
  backoffBaseMs: 20,
  backoffMaxMs: 100,
  timeoutMs: 20_000,
  retryWindowMs: 10 * 60_000,
  concurrency: 4,
};

export interface Endpoint {
  id: string;
  url: string;
  types: string[];
  secret?: string;
  startPosition: string;
}

/** The app, driven over HTTP: commands that make integration events, the webhook routes. */
export class WebhookDriver {
  private constructor(readonly t: TestApp) {}

  static async start(
    env: Record<string, string>,
    webhooks: WebhooksModuleOptions = { dispatcher: true, settings: FAST },
    /** Share a data dir (restarts); default: a fresh one, removed on close. */
    dataDir?: string,
  ): Promise<WebhookDriver> {
    return new WebhookDriver(
      await startApp({ env, webhooks, logLevel: 'warn', ...(dataDir ? { dataDir } : {}) }),
    );
  }

  inject(method: 'GET' | 'POST' | 'DELETE', url: string, token: string, payload?: unknown) {
    return this.t.app.inject({
      method,
      url,
      headers: auth(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  }

  async register(subscriptionId: string, accountId: string): Promise<bigint> {
    const r = await this.inject(
      'POST',
      '/v1/subscriptions',
      TOKENS.writer,
      registrationBody({ subscriptionId, accountId }),
    );
    expect(r.statusCode).toBe(201);
    return BigInt(r.json<{ position: string }>().position);
  }

  async cancel(id: string): Promise<bigint> {
    const r = await this.inject('POST', `/v1/subscriptions/${id}/cancellation`, TOKENS.writer, {
      requestedBy: admin,
      channel: 'self_service',
    });
    expect(r.statusCode).toBe(200);
    return BigInt(r.json<{ position: string }>().position);
  }

  async withdraw(id: string): Promise<bigint> {
    const r = await this.inject('DELETE', `/v1/subscriptions/${id}/cancellation`, TOKENS.writer, {
      requestedBy: admin,
      channel: 'self_service',
    });
    expect(r.statusCode).toBe(200);
    return BigInt(r.json<{ position: string }>().position);
  }

  async createEndpoint(receiver: WebhookReceiver, types: string[], path = '/hooks') {
    const r = await this.inject('POST', '/v1/webhook-endpoints', TOKENS.ops, {
      url: receiver.url(path),
      types,
    });
    expect(r.statusCode).toBe(201);
    const endpoint = r.json<Endpoint & { secret: string }>();
    receiver.secret = endpoint.secret;
    return endpoint;
  }

  async deliveries(endpointId: string, query = '') {
    const r = await this.inject(
      'GET',
      `/v1/webhook-endpoints/${endpointId}/deliveries?limit=1000${query}`,
      TOKENS.ops,
    );
    expect(r.statusCode).toBe(200);
    return r.json<{
      items: {
        id: string;
        eventId: string;
        type: string;
        position: string;
        status: string;
        attempts: number;
        lastStatusCode: number | null;
        lastError: string | null;
      }[];
      nextCursor: string | null;
      hasMore: boolean;
    }>().items;
  }

  /** The integration events after `after`, once the read models include `upTo`. */
  async integrationEvents(after: bigint, upTo: bigint) {
    const reader = new IntegrationEventReader(this.t.app.get(ReadDb));
    await eventually(
      async () => ((await reader.checkpoint()) ?? 0n) >= upTo,
      'the read models to include the commands',
    );
    return (await reader.page({ after, limit: 1000 })).items;
  }

  close(): Promise<void> {
    return this.t.close();
  }
}

/**
 * Events of the receiver grouped by subscription (or account), in the order they were applied,
 * and the positions in log order: a consumer applying them saw each subscription in log order.
 */
export function appliedInLogOrder(receiver: WebhookReceiver): boolean {
  const byKey = new Map<string, bigint[]>();
  for (const d of receiver.applied) {
    const key = d.event.subscriptionId ?? `account:${d.event.accountId}`;
    byKey.set(key, [...(byKey.get(key) ?? []), BigInt(d.event.position)]);
  }
  return [...byKey.values()].every((ps) => ps.every((p, i) => i === 0 || ps[i - 1]! < p));
}

/**
 * Every request for an event came after each earlier event (in log order) of its subscription
 * (or account) was answered 2xx: a later event waits for the earlier one.
 */
export function neverAhead(
  receiver: WebhookReceiver,
  expected: readonly { id: string; position: string; subscriptionId?: string; accountId: string }[],
): boolean {
  const keyOf = (e: { subscriptionId?: string; accountId: string }) =>
    e.subscriptionId ?? `account:${e.accountId}`;
  const accepted = new Set<string>();
  for (const { kind, delivery } of receiver.timeline) {
    if (kind === 'answer') {
      if (delivery.status !== null && delivery.status < 300) accepted.add(delivery.id);
      continue;
    }
    const earlier = expected.filter(
      (e) =>
        keyOf(e) === keyOf(delivery.event) && BigInt(e.position) < BigInt(delivery.event.position),
    );
    if (earlier.some((e) => !accepted.has(e.id))) return false;
  }
  return true;
}
