import { Queue } from 'bullmq';
import { DateTime } from 'luxon';
import { subscriptionStreamId } from '@app/domain';
import { CommandRunner, type EventStores, openEventStores } from '@app/infrastructure';
import { createRedisConnection, SystemClock } from '@app/platform';
import { LIFECYCLE_QUEUES, purgeJobId, termEndJobId } from '@app/scheduling';
import { testConfig } from '../../support/app-harness';
import { usePrivateRedis } from '../../support/redis-harness';
import { useTmpDir } from '../../support/tmp-dir';
import { deleteKeys, freshPrefix, registerMany, until } from './lifecycle-harness';
import { WorkerProcess } from './worker-process';

/**
 * A real worker process (apps/worker/src/main.ts, run through SWC) is SIGKILLed in the middle of
 * a term-end job; a second worker process picks the stalled job up. Locks are shortened (1 s) so
 * the stall is detected quickly; everything else is production code and configuration.
 */
describe('SIGKILL of the worker process mid-job', () => {
  const redis = usePrivateRedis();
  const tmp = useTmpDir('sub-eol-crash-');
  const workers: WorkerProcess[] = [];
  let stores: EventStores | undefined;
  let prefix = '';
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await stores?.raw.close();
    stores = undefined;
    await deleteKeys(redis.url, prefix);
  });

  async function scenario(crashMode: 'after-append' | 'before-append'): Promise<void> {
    prefix = freshPrefix();
    const config = testConfig(tmp());
    stores = openEventStores(config);
    const runner = new CommandRunner(stores.store, new SystemClock());
    const env = {
      DATA_DIR: tmp(),
      REDIS_URL: redis.url,
      LIFECYCLE_QUEUE_PREFIX: prefix,
      LIFECYCLE_LOCK_DURATION_MS: '1000',
      LIFECYCLE_STALLED_INTERVAL_MS: '500',
      // 100 days: the purge job the expiry schedules (90 days on) is to be in Redis; with the
      // default 48 h it would wait in the schedule table (horizon.test.ts).
      LIFECYCLE_HORIZON_HOURS: '2400',
    };
    const first = new WorkerProcess(env, crashMode);
    workers.push(first);
    await first.waitFor(/worker started/);

    const termEnd = DateTime.utc().plus({ seconds: 2 }).startOf('second');
    await registerMany(runner, ['sub_k1'], () => ({
      accountId: 'acc_k',
      termStart: termEnd.minus({ months: 1 }).toISO(),
      timeZone: 'UTC',
      autoRenew: false,
    }));
    await first.waitFor(/CRASH-POINT subscription-sub_k1/);
    await first.kill('SIGKILL');

    const jobId = termEndJobId('sub_k1', termEnd.toMillis());
    const connection = createRedisConnection(redis.url, { forWorker: false });
    const queue = new Queue(LIFECYCLE_QUEUES['term-end'], { connection, prefix });
    const purges = new Queue(LIFECYCLE_QUEUES.purge, { connection, prefix });
    const expiries = async () =>
      (await stores!.store.readStream(subscriptionStreamId('sub_k1'))).filter(
        (e) => e.type === 'SubscriptionExpired',
      );
    try {
      // Killed mid-job: the job is still active (locked by a dead worker).
      expect(await queue.getJobState(jobId)).toBe('active');
      expect(await expiries()).toHaveLength(crashMode === 'after-append' ? 1 : 0);

      const second = new WorkerProcess(env);
      workers.push(second);
      await second.waitFor(/lifecycle job stalled/);
      await until(
        async () => (await queue.getJobState(jobId)) === 'unknown',
        'the job to complete',
      );
      const purgeAt = DateTime.fromMillis(termEnd.toMillis(), { zone: 'UTC' }).plus({ days: 90 });
      await until(
        async () =>
          (await purges.getJobState(purgeJobId('sub_k1', purgeAt.toMillis()))) === 'delayed',
        'the purge job',
      );
      const expired = await expiries();
      expect(expired).toHaveLength(1);
      expect(Date.parse(expired[0]!.data['expiredAt'] as string)).toBeGreaterThanOrEqual(
        termEnd.toMillis(),
      );
      expect(expired[0]!.metadata.commandId).toBe(`scheduler/${jobId}`);
      // A graceful stop: Nest's shutdown hooks close the lifecycle, then the process exits.
      await second.kill('SIGTERM');
      expect(await second.exited).toEqual({ code: 0, signal: null });
      expect(second.lines.join('\n')).toContain('lifecycle stopped');
    } finally {
      await queue.close();
      await purges.close();
      connection.disconnect();
    }
  }

  it('R14: killed after SubscriptionExpired was appended, the job runs again and records nothing twice', async () => {
    await scenario('after-append');
  }, 60_000);

  it('R14: killed before anything was appended, the job runs again and expires the subscription once', async () => {
    await scenario('before-append');
  }, 60_000);
});
