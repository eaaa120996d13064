import { subscriptionDecider, subscriptionStreamId } from '@app/domain';
import type { EventStore, RecordedEvent } from '@app/event-store';
import { CommandRunner, EVENT_STORE } from '@app/infrastructure';
import type { Clock } from '@app/platform';
import {
  type Lifecycle,
  LIFECYCLE_QUEUES,
  type LifecycleJobKind,
  type LifecycleOptions,
} from '@app/scheduling';
import {
  auth,
  deleteKeys,
  freshPrefix,
  registrationBody,
  startApp,
  type TestApp,
  TOKENS,
} from '../../support/app-harness';
import { registration, type RegistrationOptions } from '../../support/fixtures';

export { deleteKeys, freshPrefix };

/** The app with its lifecycle: startApp's TestApp, lifecycle and prefix set. */
export interface LifecycleApp extends TestApp<Clock> {
  lifecycle: Lifecycle;
  prefix: string;
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

/**
 * The real API app (the one harness, test/support/app-harness.ts) with the lifecycle in role
 * `all` against the suite's Redis, under a fresh queue prefix.
 */
export async function startLifecycleApp(o: StartOptions): Promise<LifecycleApp> {
  const t = await startApp<Clock>({
    ...(o.start !== undefined ? { start: o.start } : {}),
    ...(o.clock !== undefined ? { clock: o.clock } : {}),
    ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
    ...(o.env !== undefined ? { env: o.env } : {}),
    lifecycle: {
      redis: o.redisUrl,
      ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
      ...(o.lifecycle !== undefined ? { options: o.lifecycle } : {}),
    },
  });
  return t as LifecycleApp;
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

/**
 * Scheduling at scale: the ids of the jobs of one kind the schedule table calls for, in due
 * order. Redis holds those due within the horizon (48 h by default); the others wait in the
 * table until the loader moves them in.
 */
export async function scheduledJobIds(t: LifecycleApp, kind: LifecycleJobKind): Promise<string[]> {
  const jobs = await t.lifecycle.table!.allDesiredJobs();
  return jobs.filter((j) => j.kind === kind).map((j) => j.jobId);
}

/** Waits until the scheduler has every event's jobs in Redis. */
export async function scheduled(t: LifecycleApp): Promise<void> {
  if (!(await t.lifecycle.scheduler!.waitCaughtUp(30_000)))
    throw new Error('the scheduler did not catch up with the log');
}

export const billingAdmin = { actorId: 'usr_1', role: 'billing_admin' };

export async function register(t: LifecycleApp, overrides: Record<string, unknown>): Promise<void> {
  const res = await post(t, '/v1/subscriptions', registrationBody(overrides));
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
  /** What differs from the fixtures' registration (libs/domain/src/testing). */
  data: (id: string) => Omit<RegistrationOptions, 'subscriptionId' | 'now'>,
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
          data: registration({ ...data(id), subscriptionId: id, now: runner.now() }),
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
export { eventually as until } from '../../support/eventually';

export { CommandRunner, EVENT_STORE };
