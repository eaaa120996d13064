import { randomBytes } from 'node:crypto';
import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import { type RegisterSubscription, subscriptionDecider, subscriptionStreamId } from '@app/domain';
import type { EventStore, RecordedEvent } from '@app/event-store';
import { CommandRunner, EVENT_STORE } from '@app/infrastructure';
import { type AppConfig, type Clock, ControlledClock, createRedisConnection } from '@app/platform';
import {
  type Lifecycle,
  LIFECYCLE_QUEUES,
  type LifecycleJobKind,
  type LifecycleOptions,
  LifecycleService,
} from '@app/scheduling';
import { AppModule } from '../../../apps/api/src/app.module';
import { fastifyAdapter } from '../../../apps/api/src/http/http-app.factory';
import { auth, testConfig, TOKENS } from '../../support/app-harness';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';

export interface LifecycleApp {
  app: NestFastifyApplication;
  clock: Clock;
  config: AppConfig;
  dataDir: string;
  prefix: string;
  lifecycle: Lifecycle;
  close(): Promise<void>;
}

export interface StartOptions {
  /** The suite's Redis; null: none, the app starts its private redis-server (REDIS_URL unset). */
  redisUrl: string | null;
  /** A ControlledClock at this instant (default), or the clock given. */
  start?: string;
  clock?: Clock;
  /** Share a data dir (replicas); default: a fresh temp dir, removed on close. */
  dataDir?: string;
  /** Share a queue prefix (replicas); default: a fresh one, its keys deleted on close. */
  prefix?: string;
  lifecycle?: LifecycleOptions;
  env?: Record<string, string>;
}

/** A fresh BullMQ key prefix: one per test, like BullMQ's own tests use a fresh queue name. */
export const freshPrefix = (): string => `t${randomBytes(5).toString('hex')}`;

/**
 * The real API app (Fastify, SQLite under a temp dir) with the lifecycle in role `all` against the
 * suite's private Redis, under a fresh queue prefix.
 */
export async function startLifecycleApp(o: StartOptions): Promise<LifecycleApp> {
  const ownDir = o.dataDir === undefined;
  const dataDir = o.dataDir ?? makeTmpDir('sub-eol-lifecycle-');
  const clock = o.clock ?? new ControlledClock(o.start ?? '2026-02-10T09:00:00.000Z');
  const controlled = clock instanceof ControlledClock;
  const config = testConfig(dataDir, {
    ...(o.redisUrl !== null ? { REDIS_URL: o.redisUrl } : {}),
    ...(controlled ? { CLOCK_MODE: 'controlled' } : {}),
    ...o.env,
  });
  const prefix = o.prefix ?? freshPrefix();
  const moduleRef = await Test.createTestingModule({
    imports: [
      AppModule.forRoot({
        config,
        clock,
        logger: pino({ level: 'silent' }),
        lifecycle: { role: 'all', prefix, staleGraceMs: 0, ...o.lifecycle },
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
  await app.getHttpAdapter().getInstance().ready();
  const lifecycle = app.get(LifecycleService).lifecycle;
  await lifecycle.initialReconcile();
  return {
    app,
    clock,
    config,
    dataDir,
    prefix,
    lifecycle,
    async close() {
      await app.close();
      if (o.prefix === undefined && o.redisUrl !== null) await deleteKeys(o.redisUrl, prefix);
      if (ownDir) removeTmpDir(dataDir);
    },
  };
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

export const ops = auth(TOKENS.ops);

export async function moveClock(
  t: LifecycleApp,
  now: string,
  extra: Record<string, unknown> = {},
): Promise<{ now: string; steps: number; jobsReleased: number }> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/ops/clock',
    payload: { now, ...extra },
    headers: ops,
  });
  if (res.statusCode !== 200) throw new Error(`POST /v1/ops/clock ${res.statusCode}: ${res.body}`);
  return res.json();
}

export async function post(
  t: LifecycleApp,
  url: string,
  payload: unknown,
  token: string = TOKENS.all,
) {
  const res = await t.app.inject({
    method: 'POST',
    url,
    payload: payload as object,
    headers: auth(token),
  });
  return res;
}

export async function del(
  t: LifecycleApp,
  url: string,
  payload: unknown,
  token: string = TOKENS.all,
) {
  return t.app.inject({ method: 'DELETE', url, payload: payload as object, headers: auth(token) });
}

export async function getSubscription(t: LifecycleApp, id: string): Promise<Record<string, any>> {
  const res = await t.app.inject({
    method: 'GET',
    url: `/v1/subscriptions/${id}`,
    headers: auth(TOKENS.all),
  });
  if (res.statusCode !== 200) throw new Error(`GET subscription ${res.statusCode}: ${res.body}`);
  return res.json();
}

export const events = (t: LifecycleApp, id: string): Promise<RecordedEvent[]> =>
  t.app.get<EventStore>(EVENT_STORE).readStream(subscriptionStreamId(id));

export const types = async (t: LifecycleApp, id: string): Promise<string[]> =>
  (await events(t, id)).map((e) => e.type);

/** Ids of the jobs of one kind in Redis, in the given states (default: still to run). */
export function jobIds(
  t: LifecycleApp,
  kind: LifecycleJobKind,
  states: ('delayed' | 'wait' | 'active' | 'failed' | 'completed' | 'prioritized')[] = [
    'delayed',
    'wait',
    'active',
    'prioritized',
  ],
): Promise<string[]> {
  return t.lifecycle.queues!.jobIds(kind, states);
}

export const queueName = (kind: LifecycleJobKind): string => LIFECYCLE_QUEUES[kind];

/** Waits until the scheduler has every event's jobs in Redis. */
export async function scheduled(t: LifecycleApp): Promise<void> {
  if (!(await t.lifecycle.scheduler!.waitCaughtUp(30_000)))
    throw new Error('the scheduler did not catch up with the log');
}

export const billingAdmin = { actorId: 'usr_1', role: 'billing_admin' };

export function registration(overrides: Record<string, unknown> = {}) {
  return {
    accountId: 'acc_1',
    productId: 'goto-meeting',
    plan: { kind: 'monthly' },
    termStart: '2026-01-31T00:00:00+01:00',
    timeZone: 'Europe/Rome',
    contract: false,
    autoRenew: true,
    ...overrides,
  };
}

export async function register(t: LifecycleApp, overrides: Record<string, unknown>): Promise<void> {
  const res = await post(t, '/v1/subscriptions', registration(overrides));
  if (res.statusCode !== 201) throw new Error(`register ${res.statusCode}: ${res.body}`);
}

export async function cancel(
  t: LifecycleApp,
  id: string,
): Promise<{ effectiveAt: string; purgeAt: string }> {
  const res = await post(t, `/v1/subscriptions/${id}/cancellation`, {
    requestedBy: billingAdmin,
    channel: 'support',
    verification: {
      billingAdminEmail: 'anna@example.com',
      paymentLast4: '4242',
      billingAddress: 'Via Roma 1, Milano',
    },
  });
  if (res.statusCode !== 200) throw new Error(`cancel ${res.statusCode}: ${res.body}`);
  return res.json();
}

/**
 * Registers many subscriptions straight through the command path (what POST /v1/subscriptions
 * does, minus HTTP), `concurrency` at a time so that SQLite group-commits their appends.
 */
export async function registerMany(
  runner: CommandRunner,
  ids: readonly string[],
  data: (id: string) => Omit<RegisterSubscription['data'], 'subscriptionId' | 'now'>,
  concurrency = 200,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: concurrency }, async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      await runner.run(
        subscriptionStreamId(id),
        subscriptionDecider,
        {
          type: 'RegisterSubscription',
          data: { ...data(id), subscriptionId: id, now: runner.now() },
        },
        {
          commandId: null,
          requestHash: null,
          correlationId: `bulk-${id}`,
          causationId: null,
          actor: null,
          channel: 'support',
        },
      );
    }
  });
  await Promise.all(lanes);
}

/** Polls until `check` holds (or fails with `what` after `timeoutMs`). */
export async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { CommandRunner, EVENT_STORE };
