import { CommandRunner } from '@app/infrastructure';
import type { ControlledClock } from '@app/platform';
import { TermEndProcessor, termEndJobId } from '@app/scheduling';
import { usePrivateRedis } from '../../support/redis-harness';
import {
  cancel,
  jobIds,
  type LifecycleApp,
  moveClock,
  register,
  scheduled,
  startLifecycleApp,
  types,
  until,
} from './lifecycle-harness';

// Monthly plan bought on 2026-01-31 in Rome: the first term ends on Feb 28 at midnight in Rome.
const FEB_28 = '2026-02-27T23:00:00.000Z';

describe('the scheduler and a job superseded once it is due', () => {
  const redis = usePrivateRedis();
  let t: LifecycleApp;
  beforeEach(async () => {
    // A short drain: the move past the term end waits for a job no worker may take.
    t = await startLifecycleApp({
      redisUrl: redis.url,
      start: '2026-02-10T09:00:00.000Z',
      lifecycle: { drainTimeoutMs: 1_000 },
    });
  });
  afterEach(() => t.close());

  it('R14: a term-end job the expiry supersedes while it is due stays in Redis, then runs and changes nothing', async () => {
    await register(t, { subscriptionId: 'sub_sd1' });
    await cancel(t, 'sub_sd1');
    const jobId = termEndJobId('sub_sd1', Date.parse(FEB_28));
    await moveClock(t, '2026-02-27T10:00:00.000Z'); // within the horizon: the job is in Redis
    expect(await jobIds(t, 'term-end', ['delayed'])).toEqual([jobId]);

    // The job falls due while no worker takes it (a month end's backlog; here the queue paused).
    const termEnds = t.lifecycle.queues!.queue('term-end');
    await termEnds.pause();
    await expect((t.clock as ControlledClock).advanceTo(FEB_28)).rejects.toThrow(
      /did not finish within 1000 ms/,
    );
    expect(await jobIds(t, 'term-end', ['wait'])).toEqual([jobId]);

    // Another run of the same job's work expires the subscription (a worker that died after its
    // append, a replica) before the job completes: the expiry supersedes the term-end job.
    const job = (await t.lifecycle.queues!.queue('term-end').getJob(jobId))!;
    expect((await new TermEndProcessor(t.app.get(CommandRunner)).process(job)).outcome).toBe(
      'expired',
    );
    await scheduled(t);
    // Due, so left alone: removing it could drop a job a worker holds; run, it changes nothing.
    expect(await jobIds(t, 'term-end', ['wait'])).toEqual([jobId]);

    await termEnds.resume();
    await until(async () => (await jobIds(t, 'term-end')).length === 0, 'the term-end job ran');
    expect((await types(t, 'sub_sd1')).filter((x) => x === 'SubscriptionExpired')).toHaveLength(1);
  });
});
