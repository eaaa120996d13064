import { usePrivateRedis } from '../../support/redis-harness';
import { auth, registrationBody, TOKENS } from '../../support/app-harness';
import {
  events,
  moveClock,
  startLifecycleApp,
  type LifecycleApp,
} from '../lifecycle/lifecycle-harness';
import { HolderServer } from './fake-holder-server';
import { startAppWithHttpHolder } from './purge-helpers';

const SECRET = 'holder-secret-for-tests';

/**
 * An open purge is never dropped: on the real lifecycle (controlled clock, BullMQ on a private
 * redis-server), a data holder that cannot verify (no /verify route yet) keeps the purge open past
 * every attempt of the job that started it; the open purge's own job, an hour after the start,
 * completes it once the holder answers.
 */
describe('an open purge is retried until it completes (R15, D11)', () => {
  const redis = usePrivateRedis({ persistence: 'aof' });
  const holder = new HolderServer(SECRET);
  let t: LifecycleApp;
  let close: () => Promise<void>;
  beforeEach(async () => {
    ({ t, close } = await startAppWithHttpHolder(holder, SECRET, {
      attempts: 1,
      start: () => startLifecycleApp({ redisUrl: redis.url, start: '2026-02-10T09:00:00.000Z' }),
    }));
  });
  afterEach(() => close());

  it('R15/D11: a holder without a verify route keeps the purge open past the first job; the open purge job completes it once the holder answers', async () => {
    const reg = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions',
      payload: registrationBody({ subscriptionId: 'sub_open', accountId: 'acc_open' }),
      headers: auth(TOKENS.all),
    });
    expect(reg.statusCode).toBe(201);
    const cancel = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions/sub_open/cancellation',
      payload: { requestedBy: { actorId: 'u1', role: 'billing_admin' }, channel: 'self_service' },
      headers: auth(TOKENS.all),
    });
    expect(cancel.statusCode).toBe(200);
    const { purgeAt } = cancel.json<{ purgeAt: string }>();

    holder.verifyBehaviour = () => 'not-found';
    await moveClock(t, new Date(Date.parse(purgeAt) + 60_000).toISOString());
    let types = (await events(t, 'sub_open')).map((e) => e.type);
    expect(types).toContain('PurgeStarted');
    expect(types).not.toContain('ProductDataPurged');
    const asked = holder.verifyCalls.length;
    expect(asked).toBeGreaterThan(0);

    // The holder ships its verify route; the open purge's job runs an hour after the start.
    holder.verifyBehaviour = () => 'ok';
    await moveClock(t, new Date(Date.parse(purgeAt) + 2 * 3_600_000).toISOString());
    types = (await events(t, 'sub_open')).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['PurgeVerified', 'ProductDataPurged']);
    expect(holder.verifyCalls.length).toBeGreaterThan(asked);
  });
});
