import { DateTime } from 'luxon';
import type { ProductDataPurged } from '@app/domain';
import type { EventStore, KeyStore } from '@app/event-store';
import { EVENT_STORE, KEY_STORE } from '@app/infrastructure';
import { LocalProductDataStore, PurgeProcess } from '@app/purge';
import { ReadModelProjector, ReadStore } from '@app/read-models';
import { auth, startApp, type TestApp, TOKENS } from '../../support/app-harness';
import { scanBytes } from '../../support/byte-scan';
import {
  eventTypes,
  purge,
  registerAndCancel,
  runTermEnd,
  surveyComment,
  systemContext,
  verification,
} from './purge-helpers';

const minus = (iso: string, seconds: number) =>
  DateTime.fromISO(iso).minus({ seconds }).toUTC().toISO()!;

describe('purge (R15) on the real app: SQLite files, local data holder, controlled clock', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp();
  });
  afterEach(() => t.close());

  it('R15: nothing at purgeAt − 1 s; at purgeAt the product data is purged, with a receipt matching what was seeded', async () => {
    const { expiresAt, purgeAt } = await registerAndCancel(t, 'sub_p1');
    const seeded = t.app.get(LocalProductDataStore).inventory('sub_p1');
    expect(seeded.items).toBeGreaterThan(0);

    expect(await purge(t, 'sub_p1')).toEqual({ status: 'not_expired' });
    await t.clock.advanceTo(expiresAt);
    expect(await runTermEnd(t, 'sub_p1')).toEqual(['SubscriptionExpired']);

    await t.clock.advanceTo(minus(purgeAt, 1));
    expect(await purge(t, 'sub_p1')).toEqual({ status: 'not_due' });
    expect(t.app.get(LocalProductDataStore).inventory('sub_p1').items).toBe(seeded.items);

    await t.clock.advanceTo(purgeAt);
    expect(await purge(t, 'sub_p1')).toMatchObject({ status: 'purged' });
    const types = await eventTypes(t, 'sub_p1');
    expect(types.slice(-4)).toEqual([
      'PurgeStarted',
      'ProductDataHolderPurged',
      'PurgeVerified',
      'ProductDataPurged',
    ]);

    const events = await t.app.get<EventStore>(EVENT_STORE).readStream('subscription-sub_p1');
    const purged = events.at(-1)!.data as ProductDataPurged['data'];
    expect(purged.purgedAt).toBe(purgeAt);
    expect(purged.receipt).toMatchObject({
      itemsDeleted: seeded.items,
      keysShredded: ['key-subscription-sub_p1'],
      holders: [
        {
          holder: 'local',
          itemsDeleted: seeded.items,
          bytesDeleted: seeded.bytes,
          contentHash: seeded.contentHash,
        },
      ],
    });
    // A second run (a duplicate job) changes nothing.
    expect(await purge(t, 'sub_p1')).toEqual({ status: 'already_purged' });
    expect((await eventTypes(t, 'sub_p1')).length).toBe(types.length);
  });

  it('R17: the purge reads no data key: it decides from its streams with their personal fields sealed, and only shreds', async () => {
    const { expiresAt, purgeAt } = await registerAndCancel(t, 'sub_sealed');
    await t.clock.advanceTo(expiresAt);
    await runTermEnd(t, 'sub_sealed');
    await t.clock.advanceTo(purgeAt);
    const keys = t.app.get<KeyStore>(KEY_STORE);
    const reads = jest.spyOn(keys, 'get');
    const creates = jest.spyOn(keys, 'getOrCreate');
    expect(await purge(t, 'sub_sealed')).toMatchObject({ status: 'purged' });
    expect(reads).not.toHaveBeenCalled();
    expect(creates).not.toHaveBeenCalled();
    // The stream it decided from does carry personal fields (read here in the clear, before…).
    reads.mockRestore();
    const requested = (
      await t.app.get<EventStore>(EVENT_STORE).readStream('subscription-sub_sealed')
    ).find((e) => e.type === 'CancellationRequested')!;
    // …whose key the purge shredded: what the store now reads in their place.
    expect(JSON.stringify(requested.data)).toContain('[erased]');
  });

  it('R15: a purge run under one idempotency key (a job id) still runs every step, and repeats as a no-op', async () => {
    const { expiresAt, purgeAt } = await registerAndCancel(t, 'sub_key');
    await t.clock.advanceTo(expiresAt);
    await runTermEnd(t, 'sub_key');
    await t.clock.advanceTo(purgeAt);
    const ctx = { ...systemContext(), commandId: 'purge-sub_key-job', requestHash: 'job' };
    expect(await t.app.get(PurgeProcess).run('sub_key', ctx)).toMatchObject({ status: 'purged' });
    expect(await t.app.get(PurgeProcess).run('sub_key', ctx)).toEqual({ status: 'already_purged' });
    expect((await eventTypes(t, 'sub_key')).slice(-4)).toEqual([
      'PurgeStarted',
      'ProductDataHolderPurged',
      'PurgeVerified',
      'ProductDataPurged',
    ]);
  });

  it('R15: a purge resumed after a crash between the read-model scrub and its receipt still counts the rows the first attempt scrubbed', async () => {
    const { expiresAt, purgeAt } = await registerAndCancel(t, 'sub_resume');
    await t.clock.advanceTo(expiresAt);
    await runTermEnd(t, 'sub_resume');
    await t.clock.advanceTo(purgeAt);
    const head = (await t.app.get<EventStore>(EVENT_STORE).headPosition())!;
    expect(await t.app.get(ReadModelProjector).waitFor(head, 10_000)).toBe(true);
    // The first attempt got as far as scrubbing the read models, then the process died.
    const scrubbedFirst = await t.app.get(ReadStore).scrubSubscription('sub_resume');
    expect(scrubbedFirst).toBeGreaterThan(0);

    expect(await purge(t, 'sub_resume')).toMatchObject({ status: 'purged' });
    const events = await t.app.get<EventStore>(EVENT_STORE).readStream('subscription-sub_resume');
    const purged = events.at(-1)!.data as ProductDataPurged['data'];
    expect(purged.receipt.readModelRowsScrubbed).toBe(scrubbedFirst);
  });

  it('R15/R17: after the purge no file under DATA_DIR holds the product data or the personal data the events carried', async () => {
    const { expiresAt, purgeAt } = await registerAndCancel(t, 'sub_scan');
    const needles = [
      'organizer.sub_scan@example.com',
      'alice.sub_scan@example.com',
      'Weekly sync 1 of sub_scan',
      'room-sub_scan',
      verification.billingAdminEmail,
      verification.billingAddress,
      surveyComment,
    ];
    // Before the purge the product data is on disk (the scan can see it), personal data is not:
    // it was encrypted in the events from the start.
    const before = scanBytes(t.dataDir, needles).map((h) => h.needle);
    expect(before).toEqual(
      expect.arrayContaining(['organizer.sub_scan@example.com', 'Weekly sync 1 of sub_scan']),
    );
    expect(before).not.toContain(verification.billingAdminEmail);

    await t.clock.advanceTo(expiresAt);
    await runTermEnd(t, 'sub_scan');
    await t.clock.advanceTo(purgeAt);
    expect(await purge(t, 'sub_scan')).toMatchObject({ status: 'purged' });

    expect(scanBytes(t.dataDir, needles)).toEqual([]);
    // The personal fields now read as erased; the event keeps its structure (R17).
    const [, requested] = await t.app
      .get<EventStore>(EVENT_STORE)
      .readStream('subscription-sub_scan');
    expect(requested!.data).toMatchObject({
      verification: {
        billingAdminEmail: '[erased]',
        paymentLast4: '[erased]',
        billingAddress: '[erased]',
      },
      survey: { reason: 'unused', comment: '[erased]' },
    });
  });

  it('D3: a purge due under a legal hold is deferred (recorded once); after the release it runs', async () => {
    const { expiresAt, purgeAt } = await registerAndCancel(t, 'sub_hold', 'acc_hold');
    const hold = { reason: 'Litigation 2026/114', requestedBy: { actorId: 'ops_1', role: 'user' } };
    await t.app.inject({
      method: 'POST',
      url: '/v1/accounts/acc_hold/legal-hold',
      payload: hold,
      headers: auth(TOKENS.ops),
    });
    await t.clock.advanceTo(expiresAt);
    await runTermEnd(t, 'sub_hold');
    await t.clock.advanceTo(purgeAt);
    expect(await purge(t, 'sub_hold')).toEqual({ status: 'deferred_by_legal_hold' });
    expect(await purge(t, 'sub_hold')).toEqual({ status: 'deferred_by_legal_hold' });
    expect((await eventTypes(t, 'sub_hold')).filter((e) => e === 'PurgeDeferred')).toHaveLength(1);
    expect(t.app.get(LocalProductDataStore).inventory('sub_hold').items).toBeGreaterThan(0);

    await t.app.inject({
      method: 'DELETE',
      url: '/v1/accounts/acc_hold/legal-hold',
      payload: hold,
      headers: auth(TOKENS.ops),
    });
    expect(await purge(t, 'sub_hold')).toMatchObject({ status: 'purged' });
  });

  it('D2: reactivation inside the 90 days cancels the purge; the data stays', async () => {
    const { expiresAt, purgeAt } = await registerAndCancel(t, 'sub_back');
    await t.clock.advanceTo(expiresAt);
    await runTermEnd(t, 'sub_back');
    await t.clock.advanceTo(minus(purgeAt, 86_400));
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions/sub_back/reactivation',
      payload: {
        requestedBy: { actorId: 'usr_1', role: 'billing_admin' },
        channel: 'self_service',
      },
      headers: auth(TOKENS.writer),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'active',
      purgeAt: null,
      events: ['SubscriptionReactivated'],
    });
    await t.clock.advanceTo(purgeAt);
    expect(await purge(t, 'sub_back')).toEqual({ status: 'not_expired' });
    expect(t.app.get(LocalProductDataStore).inventory('sub_back').items).toBeGreaterThan(0);
  });

  it('D2: after the purge, reactivation is 409 INVALID_STATE', async () => {
    const { expiresAt, purgeAt } = await registerAndCancel(t, 'sub_gone');
    await t.clock.advanceTo(expiresAt);
    await runTermEnd(t, 'sub_gone');
    await t.clock.advanceTo(purgeAt);
    await purge(t, 'sub_gone');
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions/sub_gone/reactivation',
      payload: {
        requestedBy: { actorId: 'usr_1', role: 'billing_admin' },
        channel: 'self_service',
      },
      headers: auth(TOKENS.writer),
    });
    expect([res.statusCode, res.json().error.code]).toEqual([409, 'INVALID_STATE']);
  });

  it('R17: erasure shreds the account keys now; events keep their structure with [erased] values; new personal data still works', async () => {
    await registerAndCancel(t, 'sub_e1', 'acc_erase');
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/accounts/acc_erase/erasure',
      payload: { reason: 'GDPR ticket 2026-0042', requestedBy: { actorId: 'dpo_1', role: 'user' } },
      headers: auth(TOKENS.ops),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      accountId: 'acc_erase',
      keysShredded: ['key-subscription-sub_e1'],
      events: ['PersonalDataErased'],
    });
    const [, requested] = await t.app
      .get<EventStore>(EVENT_STORE)
      .readStream('subscription-sub_e1');
    expect(requested!.type).toBe('CancellationRequested');
    expect(requested!.data).toMatchObject({
      accountId: 'acc_erase',
      refund: 'none',
      verification: {
        billingAdminEmail: '[erased]',
        paymentLast4: '[erased]',
        billingAddress: '[erased]',
      },
      survey: { reason: 'unused', comment: '[erased]' },
    });
    expect(scanBytes(t.dataDir, [verification.billingAdminEmail, surveyComment])).toEqual([]);
    // The account lives on: a new support cancellation of another subscription writes new personal data.
    await registerAndCancel(t, 'sub_e2', 'acc_erase');
    const [, again] = await t.app.get<EventStore>(EVENT_STORE).readStream('subscription-sub_e2');
    expect(again!.data).toMatchObject({ verification });
    const denied = await t.app.inject({
      method: 'POST',
      url: '/v1/accounts/acc_erase/erasure',
      payload: { reason: 'x', requestedBy: { actorId: 'a', role: 'user' } },
      headers: auth(TOKENS.writer),
    });
    expect(denied.statusCode).toBe(403);
  });
});
