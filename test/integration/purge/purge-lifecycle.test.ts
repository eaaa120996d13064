import { usePrivateRedis } from '../../support/redis-harness';
import { scanBytes } from '../../support/byte-scan';
import {
  events,
  moveClock,
  startLifecycleApp,
  type LifecycleApp,
} from '../lifecycle/lifecycle-harness';
import { auth, registrationBody, TOKENS } from '../../support/app-harness';
import { surveyComment, verification } from './purge-helpers';

/**
 * The whole chain on real parts: HTTP commands → log → scheduler → BullMQ jobs on a private
 * redis-server with AOF → expiry → purge job → purge process → ProductDataPurged; then a byte scan
 * of every file the service keeps (SQLite files and WALs, local holder files, Redis AOF and RDB).
 */
describe('purge through the lifecycle (R15, R17)', () => {
  const redis = usePrivateRedis({ persistence: 'aof' });
  let t: LifecycleApp;
  // Per test (not beforeAll): the app must close before the suite's redis-server stops.
  beforeEach(async () => {
    t = await startLifecycleApp({ redisUrl: redis.url, start: '2026-02-10T09:00:00.000Z' });
  });
  afterEach(() => t.close());

  it('R15: the purge job purges at purgeAt; afterwards no file of the service holds the product or personal data', async () => {
    const reg = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions',
      payload: registrationBody({ subscriptionId: 'sub_life', accountId: 'acc_life' }),
      headers: auth(TOKENS.all),
    });
    expect(reg.statusCode).toBe(201);
    const cancel = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions/sub_life/cancellation',
      payload: {
        requestedBy: { actorId: 'agent_1', role: 'billing_admin' },
        channel: 'support',
        verification,
        survey: { reason: 'other', comment: surveyComment },
      },
      headers: auth(TOKENS.all),
    });
    expect(cancel.statusCode).toBe(200);
    const { purgeAt } = cancel.json<{ purgeAt: string }>();
    const needles = [
      'organizer.sub_life@example.com',
      'Weekly sync 2 of sub_life',
      verification.billingAdminEmail,
      verification.billingAddress,
      surveyComment,
    ];

    await moveClock(t, '2026-05-28T21:59:59.000Z');
    expect((await events(t, 'sub_life')).map((e) => e.type)).not.toContain('PurgeStarted');
    expect(scanBytes(t.dataDir, needles).map((h) => h.needle)).toContain(
      'organizer.sub_life@example.com',
    );

    await moveClock(t, purgeAt);
    const all = await events(t, 'sub_life');
    expect(all.map((e) => e.type).slice(-4)).toEqual([
      'PurgeStarted',
      'ProductDataHolderPurged',
      'PurgeVerified',
      'ProductDataPurged',
    ]);
    expect(all.at(-1)!.data).toMatchObject({
      purgedAt: purgeAt,
      receipt: { keysShredded: ['key-subscription-sub_life'] },
    });

    // Every file: SQLite files and WALs, local holder files, and the Redis AOF (all commands ever written).
    expect(scanBytes(t.dataDir, needles)).toEqual([]);
    expect(scanBytes(redis.dataDir, needles)).toEqual([]);
    // The audit trail keeps its structure, with the personal fields erased.
    const audit = await t.app.inject({
      method: 'GET',
      url: '/v1/audit/events?subscriptionId=sub_life&type=CancellationRequested',
      headers: auth(TOKENS.all),
    });
    expect(audit.statusCode).toBe(200);
    expect(audit.json().items[0].data).toMatchObject({
      verification: { billingAdminEmail: '[erased]' },
      survey: { comment: '[erased]' },
    });
  });
});
