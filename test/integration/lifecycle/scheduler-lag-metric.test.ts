import { usePrivateRedis } from '../../support/redis-harness';
import { type LifecycleApp, register, scheduled, startLifecycleApp } from './lifecycle-harness';

describe('lifecycle_scheduler_lag on /metrics', () => {
  const redis = usePrivateRedis();
  let t: LifecycleApp;
  beforeEach(async () => {
    t = await startLifecycleApp({ redisUrl: redis.url });
  });
  afterEach(() => t.close());

  const lag = async (): Promise<number> => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    const line = /^subscriptions_lifecycle_scheduler_lag (\d+)$/m.exec(res.body);
    if (!line) throw new Error('no lifecycle_scheduler_lag on /metrics');
    return Number(line[1]);
  };

  it('reads the scheduler lag when scraped: events without their jobs count, 0 once caught up', async () => {
    await scheduled(t);
    expect(await lag()).toBe(0);
    await t.lifecycle.scheduler!.stop();
    await register(t, { subscriptionId: 'sub_lag1' });
    await register(t, { subscriptionId: 'sub_lag2' });
    expect(await lag()).toBeGreaterThanOrEqual(2);
    t.lifecycle.scheduler!.start();
    await scheduled(t);
    expect(await lag()).toBe(0);
  });
});
