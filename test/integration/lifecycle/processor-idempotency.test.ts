import type { Job } from 'bullmq';
import { DateTime } from 'luxon';
import type { EventStore, ReadStreamOptions } from '@app/event-store';
import { CommandRunner, EVENT_STORE, SEALED_EVENT_STORE } from '@app/infrastructure';
import { FixedClock, SystemClock } from '@app/platform';
import {
  DOMAIN_REFUSAL,
  type JobResult,
  type LifecycleJobData,
  LIFECYCLE_JOB_OPTIONS,
  termEndJobId,
  TermEndProcessor,
} from '@app/scheduling';
import { usePrivateRedis } from '../../support/redis-harness';
import {
  events,
  type LifecycleApp,
  ops,
  moveClock,
  register,
  scheduled,
  startLifecycleApp,
  types,
  until,
} from './lifecycle-harness';

const FEB_28 = '2026-02-27T23:00:00.000Z';
const MAR_31 = '2026-03-30T22:00:00.000Z';
const ms = (iso: string) => Date.parse(iso);

describe('lifecycle jobs: early, duplicated, refused, failing (controlled clock)', () => {
  const redis = usePrivateRedis();
  let t: LifecycleApp;
  beforeEach(async () => {
    // A horizon covering February and March: these tests handle the jobs of term ends weeks away
    // by hand, so they are to be in Redis (with the default 48 h they wait in the schedule table).
    t = await startLifecycleApp({
      redisUrl: redis.url,
      start: '2026-02-10T09:00:00.000Z',
      lifecycle: { horizonMs: 60 * 86_400_000 },
    });
  });
  afterEach(() => t.close());

  const termEndJob = async (id: string, dueIso: string): Promise<Job<LifecycleJobData>> => {
    const job = await t.lifecycle.queues!.queue('term-end').getJob(termEndJobId(id, ms(dueIso)));
    if (!job) throw new Error(`no term-end job for ${id} at ${dueIso}`);
    return job;
  };
  /** A processor whose command runner reads a fixed time: runs a job by hand, as a second worker would. */
  const processorAt = (iso: string) =>
    new TermEndProcessor(
      new CommandRunner(t.app.get<EventStore>(EVENT_STORE), new FixedClock(iso)),
    );

  it('D5: a job that fires early (manual promotion) changes nothing and goes back to the delayed set', async () => {
    await register(t, { subscriptionId: 'sub_e1', autoRenew: false });
    await scheduled(t);
    const job = await termEndJob('sub_e1', FEB_28);
    const before = Date.now();
    await job.promote();
    await until(async () => {
      const j = await termEndJob('sub_e1', FEB_28);
      return j.processedOn !== undefined && (await j.getState()) === 'delayed';
    }, 'the early job to be delayed again');
    expect(await types(t, 'sub_e1')).toEqual(['SubscriptionRegistered']);
    // Delayed again by what is left of the controlled time until the term end (about 17.6 days).
    const score = await t.lifecycle.queues!.connection.zscore(
      `${t.prefix}:lifecycle-term-end:delayed`,
      job.id!,
    );
    const firesAt = Math.floor(Number(score) / 0x1000);
    const remaining = ms(FEB_28) - ms('2026-02-10T09:00:00.000Z');
    expect(firesAt - before).toBeGreaterThanOrEqual(remaining - 1000);
    expect(firesAt - Date.now()).toBeLessThanOrEqual(remaining + 1000);

    await moveClock(t, FEB_28);
    const expired = (await events(t, 'sub_e1')).filter((e) => e.type === 'SubscriptionExpired');
    expect(expired.map((e) => e.data['expiredAt'])).toEqual([FEB_28]);
  });

  it('duplicate delivery: one job processed twice at once, and once more after, writes one SubscriptionExpired', async () => {
    await register(t, { subscriptionId: 'sub_dup', autoRenew: false });
    await scheduled(t);
    const job = await termEndJob('sub_dup', FEB_28);
    const p = processorAt(FEB_28);
    const results: JobResult[] = await Promise.all([p.process(job), p.process(job)]);
    results.push(await processorAt('2026-03-02T00:00:00.000Z').process(job));
    expect(results.map((r) => r.outcome).sort()).toEqual(['expired', 'replayed', 'replayed']);
    expect(await types(t, 'sub_dup')).toEqual(['SubscriptionRegistered', 'SubscriptionExpired']);
  });

  it('duplicate delivery after the clock passed the next term end too renews once, not twice', async () => {
    await register(t, { subscriptionId: 'sub_dup2' });
    await scheduled(t);
    const job = await termEndJob('sub_dup2', FEB_28);
    const late = processorAt('2026-04-15T00:00:00.000Z');
    const first = await late.process(job);
    const again = await late.process(job);
    expect([first.outcome, again.outcome]).toEqual(['renewed', 'replayed']);
    const renewed = (await events(t, 'sub_dup2')).filter((e) => e.type === 'SubscriptionRenewed');
    expect(renewed).toHaveLength(1);
    // A copy of the old job added under a fresh id (not this job's command) is stale: no 2nd renewal.
    const copy = { ...job, id: `${job.id}-copy` } as Job<LifecycleJobData>;
    expect((await late.process(copy)).outcome).toBe('stale');
    expect(
      (await events(t, 'sub_dup2')).filter((e) => e.type === 'SubscriptionRenewed'),
    ).toHaveLength(1);
    // The next term end is the scheduler's job (Mar 31), which is what renews next.
    await scheduled(t);
    expect(await t.lifecycle.queues!.jobIds('term-end', ['delayed'])).toEqual([
      termEndJobId('sub_dup2', ms(MAR_31)),
    ]);
  });

  it('duplicate delivery through BullMQ: the same job id added again after it ran is answered from the log', async () => {
    await register(t, { subscriptionId: 'sub_dup3', autoRenew: false });
    await scheduled(t);
    const job = await termEndJob('sub_dup3', FEB_28);
    await moveClock(t, FEB_28);
    expect(await types(t, 'sub_dup3')).toEqual(['SubscriptionRegistered', 'SubscriptionExpired']);
    const queue = t.lifecycle.queues!.queue('term-end');
    expect(await queue.getJob(job.id!)).toBeUndefined();
    const outcomes: string[] = [];
    t.lifecycle.workers!.workers['term-end'].on('completed', (_j, r) => outcomes.push(r.outcome));
    await queue.add('term-end', job.data, { ...LIFECYCLE_JOB_OPTIONS, jobId: job.id! });
    await until(() => outcomes.length === 1, 'the re-added job to run');
    expect(outcomes).toEqual(['replayed']);
    expect(await types(t, 'sub_dup3')).toEqual(['SubscriptionRegistered', 'SubscriptionExpired']);
  });

  it('a domain refusal (job for an unknown subscription) fails at once, unretried, and stays visible', async () => {
    const queue = t.lifecycle.queues!.queue('term-end');
    const id = termEndJobId('sub_ghost', ms(FEB_28));
    await queue.add(
      'term-end',
      { subscriptionId: 'sub_ghost', accountId: 'acc_x', dueAt: FEB_28 },
      { ...LIFECYCLE_JOB_OPTIONS, jobId: id },
    );
    await until(async () => (await queue.getJobState(id)) === 'failed', 'the job to fail');
    const failed = (await queue.getJob(id))!;
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(new RegExp(`^${DOMAIN_REFUSAL} NOT_FOUND`));
    // The reconciler leaves it visible rather than retrying it.
    expect(await queue.getFailedCount()).toBe(1);
  });

  it('the queue dashboard is read-only: promoting, cleaning or obliterating through it is 405 and changes no job', async () => {
    await register(t, { subscriptionId: 'sub_board' });
    const id = termEndJobId('sub_board', ms(FEB_28));
    const queue = t.lifecycle.queues!.queue('term-end');
    await until(async () => (await queue.getJobState(id)) === 'delayed', 'the term-end job');
    for (const action of ['promote', 'clean/delayed', 'empty', 'obliterate']) {
      const res = await t.app.inject({
        method: 'PUT',
        url: `/ops/queues/api/queues/lifecycle-term-end/${action}`,
        headers: ops,
      });
      expect([action, res.statusCode]).toEqual([action, 405]);
    }
    expect(await queue.getJobState(id)).toBe('delayed');
  });

  it.each([
    ['no data at all', {}],
    [
      'a subscription id that is not one',
      { subscriptionId: 'a:b', accountId: 'acc_x', dueAt: FEB_28 },
    ],
    [
      'a due time that is not an instant',
      { subscriptionId: 'sub_x', accountId: 'acc_x', dueAt: 'soon' },
    ],
  ])(
    'a job with %s fails at once as INVALID_JOB_DATA, unretried, counted, and the worker goes on',
    async (_label, data) => {
      const queue = t.lifecycle.queues!.queue('term-end');
      const id = `bad-${Object.keys(data).length}-${String((data as { dueAt?: string }).dueAt)}`;
      await queue.add('term-end', data as LifecycleJobData, {
        ...LIFECYCLE_JOB_OPTIONS,
        jobId: id,
      });
      await until(async () => (await queue.getJobState(id)) === 'failed', 'the job to fail');
      const failed = (await queue.getJob(id))!;
      expect(failed.attemptsMade).toBe(1);
      expect(failed.failedReason).toMatch(/^INVALID_JOB_DATA: /);
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/lifecycle_jobs_total\{kind="term-end",outcome="invalid"\} 1/);
      // The worker is still there: a real subscription's term end runs after it.
      await register(t, { subscriptionId: 'sub_after_bad', autoRenew: false });
      await moveClock(t, FEB_28);
      await until(
        async () => (await types(t, 'sub_after_bad')).includes('SubscriptionExpired'),
        'the next job to run',
      );
    },
  );
});

describe('lifecycle jobs on the real clock', () => {
  const redis = usePrivateRedis();

  it('R14: with real BullMQ delays the expiry lands at the term end, never before it', async () => {
    const t = await startLifecycleApp({ redisUrl: redis.url, clock: new SystemClock() });
    try {
      const termEnd = DateTime.utc()
        .plus({ milliseconds: 1500 })
        .startOf('second')
        .plus({ seconds: 1 });
      await register(t, {
        subscriptionId: 'sub_rt',
        autoRenew: false,
        timeZone: 'UTC',
        termStart: termEnd.minus({ months: 1 }).toISO(),
      });
      await until(
        async () => (await types(t, 'sub_rt')).includes('SubscriptionExpired'),
        'expiry',
        15_000,
      );
      const expired = (await events(t, 'sub_rt')).find((e) => e.type === 'SubscriptionExpired')!;
      const expiredAt = ms(expired.data['expiredAt'] as string);
      expect(expired.data['expiresAt']).toBe(termEnd.toISO());
      expect(expiredAt).toBeGreaterThanOrEqual(termEnd.toMillis());
      expect(expiredAt - termEnd.toMillis()).toBeLessThan(2000);
    } finally {
      await t.close();
    }
  });

  it('an infrastructure error is retried with exponential backoff; the job then succeeds once', async () => {
    const t = await startLifecycleApp({ redisUrl: redis.url, clock: new SystemClock() });
    try {
      // The store the jobs' commands read (personal fields sealed).
      const store = t.app.get<EventStore>(SEALED_EVENT_STORE);
      const readStream = store.readStream.bind(store);
      let failures = 0;
      // The command path reads with requiresLeader (the scheduler does not): once armed after the
      // registration, the job's first read fails.
      store.readStream = (streamId: string, options?: ReadStreamOptions) => {
        if (streamId === 'subscription-sub_inf' && options?.requiresLeader && failures-- > 0)
          return Promise.reject(new Error('SQLITE_IOERR: disk I/O error (injected)'));
        return readStream(streamId, options);
      };
      const attempts: { attemptsMade: number; delay: number; reason: string }[] = [];
      t.lifecycle.workers!.workers['term-end'].on('failed', (job, err) => {
        if (job)
          attempts.push({ attemptsMade: job.attemptsMade, delay: job.delay, reason: err.message });
      });
      const termEnd = DateTime.utc().plus({ seconds: 1 }).startOf('second').plus({ seconds: 1 });
      await register(t, {
        subscriptionId: 'sub_inf',
        autoRenew: false,
        timeZone: 'UTC',
        termStart: termEnd.minus({ months: 1 }).toISO(),
      });
      failures = 1;
      await until(
        async () => (await types(t, 'sub_inf')).includes('SubscriptionExpired'),
        'expiry',
        15_000,
      );
      expect(attempts).toEqual([
        { attemptsMade: 1, delay: expect.any(Number), reason: expect.stringContaining('injected') },
      ]);
      expect(LIFECYCLE_JOB_OPTIONS.backoff).toEqual({ type: 'exponential', delay: 1000 });
      expect(await types(t, 'sub_inf')).toEqual(['SubscriptionRegistered', 'SubscriptionExpired']);
      const expired = (await events(t, 'sub_inf')).find((e) => e.type === 'SubscriptionExpired')!;
      // Retried after the 1 s backoff, not at once.
      expect(ms(expired.metadata.recordedAt)).toBeGreaterThanOrEqual(termEnd.toMillis() + 1000);
    } finally {
      await t.close();
    }
  });
});
