import type { KeyStore } from '@app/event-store';
import { KEY_STORE } from '@app/infrastructure';
import { SystemClock } from '@app/platform';
import { purgeJobId, termEndJobId } from '@app/scheduling';
import { usePrivateRedis } from '../../support/redis-harness';
import {
  billingAdmin,
  cancel,
  del,
  events,
  getSubscription,
  jobIds,
  type LifecycleApp,
  moveClock,
  ops,
  post,
  register,
  scheduled,
  scheduledJobIds,
  startLifecycleApp,
  types,
  until,
} from './lifecycle-harness';

// Monthly plan bought on 2026-01-31 00:00 in Rome (anchor 2026-01-30T23:00Z): anchored term ends
// (D4) on Feb 28, Mar 31, Apr 30, May 31 at midnight in Rome. DST starts on 2026-03-29.
const FEB_28 = '2026-02-27T23:00:00.000Z';
const MAR_31 = '2026-03-30T22:00:00.000Z';
const APR_30 = '2026-04-29T22:00:00.000Z';
const MAY_31 = '2026-05-30T22:00:00.000Z';
// Expiry on Feb 28 + 90 calendar days at the same wall-clock time in Rome (R15, D4).
const PURGE_AFTER_FEB_28 = '2026-05-28T22:00:00.000Z';
const ms = (iso: string) => Date.parse(iso);

describe('lifecycle on the real app with a controlled clock (BullMQ on a private Redis, SQLite)', () => {
  const redis = usePrivateRedis();
  let t: LifecycleApp;
  beforeEach(async () => {
    t = await startLifecycleApp({ redisUrl: redis.url, start: '2026-02-10T09:00:00.000Z' });
  });
  afterEach(() => t.close());

  it('R14: a cancelled subscription expires exactly at its term end, not one second before', async () => {
    await register(t, { subscriptionId: 'sub_x1', autoRenew: true });
    const { effectiveAt, purgeAt } = await cancel(t, 'sub_x1');
    expect([effectiveAt, purgeAt]).toEqual([FEB_28, PURGE_AFTER_FEB_28]);
    await scheduled(t);
    // 18 days away: in the schedule table, not yet in Redis (beyond the 48 h horizon).
    expect(await scheduledJobIds(t, 'term-end')).toEqual([termEndJobId('sub_x1', ms(FEB_28))]);
    expect(await jobIds(t, 'term-end')).toEqual([]);

    await moveClock(t, '2026-02-27T22:59:59.000Z');
    expect((await getSubscription(t, 'sub_x1')).status).toBe('cancellation_pending');
    expect(await types(t, 'sub_x1')).not.toContain('SubscriptionExpired');
    expect(await jobIds(t, 'term-end', ['delayed'])).toEqual([termEndJobId('sub_x1', ms(FEB_28))]);

    await moveClock(t, FEB_28);
    const expired = (await events(t, 'sub_x1')).filter((e) => e.type === 'SubscriptionExpired');
    expect(expired).toHaveLength(1);
    expect(expired[0]!.data).toMatchObject({ expiresAt: FEB_28, expiredAt: FEB_28, purgeAt });
    expect(expired[0]!.metadata).toMatchObject({
      recordedAt: FEB_28,
      channel: 'system',
      actor: { actorId: 'system:scheduler' },
      commandId: `scheduler/${termEndJobId('sub_x1', ms(FEB_28))}`,
    });
    expect((await getSubscription(t, 'sub_x1')).status).toBe('expired');
    // The expiry scheduled the purge job at purgeAt; the term-end job is done and gone.
    await scheduled(t);
    expect(await jobIds(t, 'term-end')).toEqual([]);
    expect(await scheduledJobIds(t, 'purge')).toEqual([purgeJobId('sub_x1', ms(purgeAt))]);
  });

  it('R17: the term-end job and the scheduler read no data key: they fold streams with their personal fields sealed', async () => {
    await register(t, { subscriptionId: 'sub_x9', autoRenew: true });
    await cancel(t, 'sub_x9'); // through support: the verification is personal data
    await scheduled(t);
    const reads = jest.spyOn(t.app.get<KeyStore>(KEY_STORE), 'get');
    await moveClock(t, FEB_28);
    await scheduled(t);
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
    expect((await getSubscription(t, 'sub_x9')).status).toBe('expired');
    expect(await scheduledJobIds(t, 'purge')).toEqual([
      purgeJobId('sub_x9', ms(PURGE_AFTER_FEB_28)),
    ]);
  });

  it('R14: with auto-renew on the term end renews on the anchored calendar (Jan 31 → Feb 28 → Mar 31)', async () => {
    await register(t, { subscriptionId: 'sub_r1' });
    await moveClock(t, FEB_28);
    const renewed = (await events(t, 'sub_r1')).filter((e) => e.type === 'SubscriptionRenewed');
    expect(renewed.map((e) => e.data)).toEqual([
      expect.objectContaining({
        renewedAt: FEB_28,
        reason: 'auto_renew',
        termIndex: 1,
        currentTerm: { start: FEB_28, end: MAR_31 },
      }),
    ]);
    const view = await getSubscription(t, 'sub_r1');
    expect(view).toMatchObject({ status: 'active', currentTerm: { end: MAR_31 } });
    await scheduled(t);
    expect(await scheduledJobIds(t, 'term-end')).toEqual([termEndJobId('sub_r1', ms(MAR_31))]);
    expect(await jobIds(t, 'purge')).toEqual([]);
  });

  it('D1/R14: a cancellation withdrawn before the term end renews instead of expiring; no purge is scheduled', async () => {
    await register(t, { subscriptionId: 'sub_w1' });
    await cancel(t, 'sub_w1');
    await moveClock(t, '2026-02-20T10:00:00.000Z');
    const res = await del(t, '/v1/subscriptions/sub_w1/cancellation', {
      requestedBy: billingAdmin,
      channel: 'support',
    });
    expect(res.statusCode).toBe(200);
    await moveClock(t, FEB_28);
    const all = await types(t, 'sub_w1');
    expect(all).toContain('SubscriptionRenewed');
    expect(all).not.toContain('SubscriptionExpired');
    await scheduled(t);
    expect(await scheduledJobIds(t, 'term-end')).toEqual([termEndJobId('sub_w1', ms(MAR_31))]);
    expect(await jobIds(t, 'purge')).toEqual([]);
  });

  it('R14: one clock jump over three term ends renews three times, each at its own term end, in order', async () => {
    await register(t, { subscriptionId: 'sub_m1' });
    const moved = await moveClock(t, '2026-05-15T12:00:00.000Z');
    expect(moved.steps).toBe(3);
    const renewed = (await events(t, 'sub_m1')).filter((e) => e.type === 'SubscriptionRenewed');
    expect(
      renewed.map((e) => [e.data['renewedAt'], (e.data['currentTerm'] as { end: string }).end]),
    ).toEqual([
      [FEB_28, MAR_31],
      [MAR_31, APR_30],
      [APR_30, MAY_31],
    ]);
    expect(renewed.map((e) => e.metadata.recordedAt)).toEqual([FEB_28, MAR_31, APR_30]);
    await scheduled(t);
    expect(await scheduledJobIds(t, 'term-end')).toEqual([termEndJobId('sub_m1', ms(MAY_31))]);
  });

  it('R14: a jump without stepping (step: false) still runs every renewal it passes, in order, at the new time', async () => {
    await register(t, { subscriptionId: 'sub_m2' });
    const moved = await moveClock(t, '2026-05-15T12:00:00.000Z', { step: false });
    expect(moved.steps).toBe(0);
    const renewed = (await events(t, 'sub_m2')).filter((e) => e.type === 'SubscriptionRenewed');
    expect(renewed.map((e) => (e.data['previousTerm'] as { end: string }).end)).toEqual([
      FEB_28,
      MAR_31,
      APR_30,
    ]);
    expect(new Set(renewed.map((e) => e.data['renewedAt']))).toEqual(
      new Set(['2026-05-15T12:00:00.000Z']),
    );
  });

  it('R14/R15: one jump past expiry and purge date runs the expiry, then the purge job the expiry scheduled, which purges', async () => {
    await register(t, { subscriptionId: 'sub_j1' });
    await cancel(t, 'sub_j1');
    await moveClock(t, '2026-07-01T00:00:00.000Z');
    const all = await events(t, 'sub_j1');
    // The purge job hands the purge to the purge process: started, the local holder, verified
    // (D11), done. Between expiry and purge, the D7 notices at −30 and −7 days.
    expect(all.map((e) => e.type).slice(-7)).toEqual([
      'SubscriptionExpired',
      'PurgeNoticeIssued',
      'PurgeNoticeIssued',
      'PurgeStarted',
      'ProductDataHolderPurged',
      'PurgeVerified',
      'ProductDataPurged',
    ]);
    expect(all.at(-7)!.data['expiredAt']).toBe(FEB_28);
    expect(all.at(-4)!.data['startedAt']).toBe(PURGE_AFTER_FEB_28);
    expect(all.at(-1)!.data['purgedAt']).toBe(PURGE_AFTER_FEB_28);
  });

  it('R9: a fixed-term contract cancelled without 30 days notice renews once (notice missed), then expires at the next term end', async () => {
    await register(t, {
      subscriptionId: 'sub_f1',
      plan: { kind: 'fixed_term', termMonths: 12 },
      termStart: '2025-03-01T00:00:00+01:00',
      contract: true,
    });
    const res = await post(t, '/v1/subscriptions/sub_f1/cancellation', {
      requestedBy: billingAdmin,
      channel: 'support',
      verification: {
        billingAdminEmail: 'a@example.com',
        paymentLast4: '4242',
        billingAddress: 'x',
      },
    });
    expect(res.json()).toMatchObject({
      noticeDeadlineMissed: true,
      effectiveAt: '2027-02-28T23:00:00.000Z',
    });
    await moveClock(t, '2027-03-05T00:00:00.000Z');
    const all = await events(t, 'sub_f1');
    const lifecycle = all.filter((e) =>
      ['SubscriptionRenewed', 'SubscriptionExpired'].includes(e.type),
    );
    expect(lifecycle.map((e) => [e.type, e.metadata.recordedAt])).toEqual([
      ['SubscriptionRenewed', '2026-02-28T23:00:00.000Z'],
      ['SubscriptionExpired', '2027-02-28T23:00:00.000Z'],
    ]);
    expect(lifecycle[0]!.data['reason']).toBe('notice_deadline_missed');
  });

  it('R11: a trial simply expires at its end', async () => {
    await register(t, {
      subscriptionId: 'sub_t1',
      plan: { kind: 'trial', trialDays: 14 },
      termStart: '2026-02-05T00:00:00+01:00',
      autoRenew: false,
    });
    await moveClock(t, '2026-02-18T22:59:59.999Z');
    expect(await types(t, 'sub_t1')).toEqual(['SubscriptionRegistered']);
    await moveClock(t, '2026-02-18T23:00:00.000Z');
    expect(await types(t, 'sub_t1')).toEqual(['SubscriptionRegistered', 'SubscriptionExpired']);
  });

  it('R18: the expiry of a goto-room subscription also revokes the room meeting account, hardware kept', async () => {
    await register(t, { subscriptionId: 'sub_room', productId: 'goto-room', autoRenew: false });
    await moveClock(t, FEB_28);
    const all = await events(t, 'sub_room');
    expect(all.map((e) => e.type)).toEqual([
      'SubscriptionRegistered',
      'SubscriptionExpired',
      'RoomMeetingAccountRevoked',
    ]);
    expect(all[2]!.data).toMatchObject({
      revokedAt: FEB_28,
      revoked: ['instant_meeting', 'screen_sharing'],
      hardwareRetainedByCustomer: true,
    });
  });

  it('D2: reactivation inside the grace period drops the purge job and schedules the new term end', async () => {
    await register(t, { subscriptionId: 'sub_d2' });
    await cancel(t, 'sub_d2');
    await moveClock(t, FEB_28);
    await scheduled(t);
    expect(await scheduledJobIds(t, 'purge')).toEqual([
      purgeJobId('sub_d2', ms(PURGE_AFTER_FEB_28)),
    ]);
    await moveClock(t, '2026-03-10T10:00:00.000Z');
    const res = await post(t, '/v1/subscriptions/sub_d2/reactivation', {
      requestedBy: billingAdmin,
      channel: 'support',
    });
    expect(res.statusCode).toBe(200);
    await scheduled(t);
    expect(await scheduledJobIds(t, 'purge')).toEqual([]);
    expect(await jobIds(t, 'purge')).toEqual([]);
    const view = await getSubscription(t, 'sub_d2');
    expect(await scheduledJobIds(t, 'term-end')).toEqual([
      termEndJobId('sub_d2', ms(view['currentTerm'].end)),
    ]);
    // Past the old purge date nothing is purged.
    await moveClock(t, '2026-06-01T00:00:00.000Z');
    expect(await types(t, 'sub_d2')).not.toContain('PurgeStarted');
  });

  it('R15: the purge job dispatches the purge at purgeAt, not one second before, once', async () => {
    await register(t, { subscriptionId: 'sub_p1' });
    await cancel(t, 'sub_p1');
    await moveClock(t, FEB_28);
    await moveClock(t, '2026-05-28T21:59:59.000Z');
    expect(await types(t, 'sub_p1')).not.toContain('PurgeStarted');
    expect(await jobIds(t, 'purge', ['delayed'])).toEqual([
      purgeJobId('sub_p1', ms(PURGE_AFTER_FEB_28)),
    ]);
    await moveClock(t, PURGE_AFTER_FEB_28);
    const started = (await events(t, 'sub_p1')).filter((e) => e.type === 'PurgeStarted');
    expect(started).toHaveLength(1);
    expect(started[0]!.data).toMatchObject({
      purgeId: purgeJobId('sub_p1', ms(PURGE_AFTER_FEB_28)),
      startedAt: PURGE_AFTER_FEB_28,
      purgeAt: PURGE_AFTER_FEB_28,
    });
    await moveClock(t, '2026-12-31T00:00:00.000Z');
    expect((await types(t, 'sub_p1')).filter((x) => x === 'PurgeStarted')).toHaveLength(1);
    expect(await jobIds(t, 'purge')).toEqual([]);
  });

  it('D3: a purge due under a legal hold is deferred; the release enqueues it at once', async () => {
    await register(t, { subscriptionId: 'sub_h1', accountId: 'acc_h' });
    await cancel(t, 'sub_h1');
    await moveClock(t, FEB_28);
    const hold = await post(t, '/v1/accounts/acc_h/legal-hold', {
      reason: 'Litigation 2026/114',
      requestedBy: { actorId: 'ops_1', role: 'user' },
    });
    expect(hold.statusCode).toBe(200);
    await moveClock(t, PURGE_AFTER_FEB_28);
    expect((await types(t, 'sub_h1')).slice(-1)).toEqual(['PurgeDeferred']);
    await scheduled(t);
    expect(await jobIds(t, 'purge')).toEqual([]);

    await moveClock(t, '2026-06-15T08:00:00.000Z');
    const release = await del(t, '/v1/accounts/acc_h/legal-hold', {
      reason: 'Case closed',
      requestedBy: { actorId: 'ops_1', role: 'user' },
    });
    expect(release.statusCode).toBe(200);
    await until(
      async () => (await types(t, 'sub_h1')).includes('PurgeStarted'),
      'purge after release',
    );
    const started = (await events(t, 'sub_h1')).find((e) => e.type === 'PurgeStarted')!;
    expect(started.data['startedAt']).toBe('2026-06-15T08:00:00.000Z');
  });

  it('API: GET/POST /v1/ops/clock read and move the clock (ops scope); moving back is 409 CLOCK_BACKWARDS', async () => {
    const read = await t.app.inject({ method: 'GET', url: '/v1/ops/clock', headers: ops });
    expect(read.json()).toEqual({ now: '2026-02-10T09:00:00.000Z' });
    const moved = await moveClock(t, '2026-02-11T00:00:00+01:00');
    expect(moved).toMatchObject({ now: '2026-02-10T23:00:00.000Z', steps: 0 });
    const back = await post(t, '/v1/ops/clock', { now: '2026-02-10T00:00:00.000Z' }, 'tok-ops');
    expect(back.statusCode).toBe(409);
    expect(back.json().error.code).toBe('CLOCK_BACKWARDS');
    const bad = await post(t, '/v1/ops/clock', { now: 'tomorrow' }, 'tok-ops');
    expect(bad.statusCode).toBe(400);
    const noScope = await post(t, '/v1/ops/clock', { now: '2026-03-01T00:00:00Z' }, 'tok-writer');
    expect(noScope.statusCode).toBe(403);
    expect(
      (await t.app.inject({ method: 'GET', url: '/v1/ops/clock', headers: ops })).json(),
    ).toEqual({
      now: '2026-02-10T23:00:00.000Z',
    });
  });
});

describe('ops clock routes outside controlled mode', () => {
  const redis = usePrivateRedis();
  it('API: with the system clock GET and POST /v1/ops/clock answer 404', async () => {
    const t = await startLifecycleApp({ redisUrl: redis.url, clock: new SystemClock() });
    try {
      const get = await t.app.inject({ method: 'GET', url: '/v1/ops/clock', headers: ops });
      expect(get.statusCode).toBe(404);
      const res = await post(t, '/v1/ops/clock', { now: '2030-01-01T00:00:00Z' }, 'tok-ops');
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    } finally {
      await t.close();
    }
  });
});
