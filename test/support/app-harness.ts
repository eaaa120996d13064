import { randomBytes } from 'node:crypto';
import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { subscriptionDecider, subscriptionStreamId } from '@app/domain';
import type { EventStore } from '@app/event-store';
import { CommandRunner, RAW_EVENT_STORE } from '@app/infrastructure';
import {
  type AppConfig,
  type Clock,
  ControlledClock,
  createLogger,
  createRedisConnection,
  loadConfig,
  type LogLevel,
} from '@app/platform';
import { type Lifecycle, type LifecycleOptions, LifecycleService } from '@app/scheduling';
import type { WebhooksModuleOptions } from '@app/webhooks';
import { AppModule } from '../../apps/api/src/app.module';
import { fastifyAdapter } from '../../apps/api/src/http/http-app.factory';
import { makeTmpDir, removeTmpDir } from './tmp-dir';
import { type OpenApiDocument, validateResponse } from './openapi/response-validator';
import type { FastifyInstance } from 'fastify';

export { registrationBody } from './fixtures';

/**
 * The one harness that builds the real API app in a test: AppModule on Fastify, real SQLite files
 * under a temp dir (or the stores the env names), a controlled clock, the production logger
 * writing into a capture, and, when asked, the lifecycle (scheduler, queues, workers) against a
 * Redis. test/integration/lifecycle/lifecycle-harness.ts adds the lifecycle's helpers on top.
 */

export const TOKENS = {
  writer: 'tok-writer',
  reader: 'tok-reader',
  auditor: 'tok-auditor',
  events: 'tok-events',
  ops: 'tok-ops',
  all: 'tok-all',
} as const;

/** A config like production's: explicit tokens per scope, data under a fresh temp dir. */
export function testConfig(dataDir: string, env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    AUTH_TOKENS: JSON.stringify({
      [TOKENS.writer]: { service: 'billing', scopes: ['subscriptions:write'] },
      [TOKENS.reader]: { service: 'portal', scopes: ['subscriptions:read'] },
      [TOKENS.auditor]: { service: 'audit', scopes: ['audit:read'] },
      [TOKENS.events]: { service: 'product', scopes: ['events:read'] },
      [TOKENS.ops]: { service: 'ops', scopes: ['ops'] },
      [TOKENS.all]: {
        service: 'all',
        scopes: ['subscriptions:write', 'subscriptions:read', 'audit:read', 'events:read', 'ops'],
      },
    }),
    ...env,
  });
}

/** Everything the app logged, as parsed JSON lines (the production logger, with redaction). */
export class LogCapture {
  readonly lines: string[] = [];
  readonly destination = { write: (line: string) => void this.lines.push(line) };
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  raw(): string {
    return this.lines.join('');
  }
  clear(): void {
    this.lines.length = 0;
  }
}

export interface AppOptions<C extends Clock = ControlledClock> {
  /** A ControlledClock at this instant (default 2026-02-10T09:00:00.000Z)… */
  start?: string;
  /** …or this clock. */
  clock?: C;
  env?: Record<string, string>;
  /** Share a data dir (replicas, restarts); default: a fresh temp dir, removed on close. */
  dataDir?: string;
  /** What the app's logger writes into `log` (default: nothing). */
  logLevel?: LogLevel;
  /**
   * Run the lifecycle against `redis` (null: the app starts its private redis-server, REDIS_URL
   * unset), under `prefix` (default: a fresh one, its keys deleted on close), in role `all` unless
   * `options` say otherwise. Without it the app runs no lifecycle.
   */
  lifecycle?: {
    redis: string | null;
    prefix?: string;
    options?: Omit<LifecycleOptions, 'prefix'>;
  };
  /** Webhooks (e.g. `{ dispatcher: true, settings }` to deliver from this app). */
  webhooks?: WebhooksModuleOptions;
}

export interface TestApp<C extends Clock = ControlledClock> {
  app: NestFastifyApplication;
  clock: C;
  config: AppConfig;
  dataDir: string;
  log: LogCapture;
  /** The event store below encryption and upcasting: events exactly as stored. */
  raw: EventStore;
  /** With the lifecycle option: the lifecycle and its queue prefix. */
  lifecycle: Lifecycle | null;
  prefix: string | null;
  close(): Promise<void>;
}

/** A fresh BullMQ key prefix: one per test, like BullMQ's own tests use a fresh queue name. */
export const freshPrefix = (): string => `t${randomBytes(5).toString('hex')}`;

export async function startApp<C extends Clock = ControlledClock>(
  o: AppOptions<C> = {},
): Promise<TestApp<C>> {
  const ownDir = o.dataDir === undefined;
  const dataDir = o.dataDir ?? makeTmpDir('sub-eol-app-');
  const clock = (o.clock ?? new ControlledClock(o.start ?? '2026-02-10T09:00:00.000Z')) as C;
  const lc = o.lifecycle;
  const config = testConfig(dataDir, {
    ...(lc && lc.redis !== null ? { REDIS_URL: lc.redis } : {}),
    ...(lc && clock instanceof ControlledClock ? { CLOCK_MODE: 'controlled' } : {}),
    ...o.env,
  });
  const prefix = lc ? (lc.prefix ?? freshPrefix()) : null;
  const log = new LogCapture();
  const logger = createLogger(
    { logLevel: o.logLevel ?? 'silent' },
    { name: 'api', destination: log.destination },
  );
  const lifecycleOptions: LifecycleOptions | undefined = lc
    ? { role: 'all', prefix: prefix!, staleGraceMs: 0, ...lc.options }
    : undefined;
  const moduleRef = await Test.createTestingModule({
    imports: [
      AppModule.forRoot({
        config,
        clock,
        logger,
        ...(lifecycleOptions ? { lifecycle: lifecycleOptions } : {}),
        ...(o.webhooks ? { webhooks: o.webhooks } : {}),
      }),
    ],
  }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(fastifyAdapter(), {
    logger: false,
  });
  try {
    await app.init();
  } catch (error) {
    // A refused start-up (tests of it) must not leave the stores it opened behind.
    await app.close().catch(() => undefined);
    if (ownDir) removeTmpDir(dataDir);
    throw error;
  }
  const fastify = app.getHttpAdapter().getInstance();
  const drift = checkResponsesAgainstDocument(fastify);
  await fastify.ready();
  const lifecycle = lc ? app.get(LifecycleService).lifecycle : null;
  if (lifecycle) await lifecycle.initialReconcile();
  return {
    app,
    clock,
    config,
    dataDir,
    log,
    raw: app.get<EventStore>(RAW_EVENT_STORE),
    lifecycle,
    prefix,
    async close() {
      await app.close();
      if (lc && lc.prefix === undefined && lc.redis !== null) await deleteKeys(lc.redis, prefix!);
      if (ownDir) removeTmpDir(dataDir);
      // Every answer this app gave in the test, held to the schema the document declares for it.
      if (drift.length > 0)
        throw new Error(
          `${drift.length} response(s) did not match the OpenAPI document:\n${drift.slice(0, 20).join('\n')}`,
        );
    },
  };
}

/**
 * Checks every response the app sends against what its own OpenAPI document declares (status,
 * content type, body schema; undeclared fields included), from a Fastify onSend hook, so every
 * test that drives the app checks the contract on the way; `close()` reports what did not match.
 */
function checkResponsesAgainstDocument(fastify: FastifyInstance): string[] {
  const drift: string[] = [];
  let document: OpenApiDocument | null = null;
  fastify.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith('/docs')) return payload;
    document ??= await documentOf(fastify);
    const body = typeof payload === 'string' ? payload : payload === null ? '' : undefined;
    // Streams (the NDJSON export) are checked by their own tests line by line.
    if (body === undefined) return payload;
    const result = validateResponse(document, {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      headers: reply.getHeaders(),
      body: parsedOrText(body, reply.getHeader('content-type')),
    });
    drift.push(...result.errors);
    return payload;
  });
  return drift;
}

async function documentOf(fastify: FastifyInstance): Promise<OpenApiDocument> {
  const res = await fastify.inject({ method: 'GET', url: '/docs/json' });
  return res.json<OpenApiDocument>();
}

function parsedOrText(body: string, type: unknown): unknown {
  if (typeof type === 'string' && type.startsWith('application/json') && body.length > 0)
    try {
      return JSON.parse(body) as unknown;
    } catch {
      return body;
    }
  return body;
}

/** Deletes every key under a prefix (the test's queues), so the suite's Redis stays clean. */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedisConnection(redisUrl, { forWorker: false });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** Moves the controlled clock forward to `at` (never back: later tests share the app). */
export async function advanceTo(t: TestApp, at: string): Promise<void> {
  if (t.clock.now().toMillis() < Date.parse(at)) await t.clock.advanceTo(at);
}

/** Moves a subscription through its term end (expires when auto-renew is off) at `at`. */
export async function processTermEnd(t: TestApp, subscriptionId: string, at: string) {
  await advanceTo(t, at);
  const runner = t.app.get(CommandRunner);
  return runner.run(
    subscriptionStreamId(subscriptionId),
    subscriptionDecider,
    { type: 'ProcessTermEnd', data: { subscriptionId, now: runner.now() } },
    {
      commandId: null,
      requestHash: null,
      correlationId: `term-end-${subscriptionId}`,
      causationId: null,
      actor: null,
      channel: 'system',
    },
  );
}
