import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProductDataPurged, PurgeVerificationFailed } from '@app/domain';
import type { EventStore } from '@app/event-store';
import { EVENT_STORE, type GenerationalKeyStore, KEY_STORE } from '@app/infrastructure';
import { HolderFailedError, HttpProductDataHolder, LocalProductDataStore } from '@app/purge';
import { auth, type TestApp, TOKENS } from '../../support/app-harness';
import { HolderServer } from './fake-holder-server';
import {
  eventTypes,
  purge,
  registerAndCancel,
  runTermEnd,
  startAppWithHttpHolder,
} from './purge-helpers';

const SECRET = 'holder-secret-for-tests';

async function streamOf(t: TestApp, subscriptionId: string) {
  return t.app.get<EventStore>(EVENT_STORE).readStream(`subscription-${subscriptionId}`);
}

async function dueForPurge(t: TestApp, subscriptionId: string): Promise<void> {
  const { expiresAt, purgeAt } = await registerAndCancel(t, subscriptionId);
  await t.clock.advanceTo(expiresAt);
  await runTermEnd(t, subscriptionId);
  await t.clock.advanceTo(purgeAt);
}

async function until<T>(read: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never: ${what}`);
}

describe('D11: the HTTP holder verify request', () => {
  let server: HolderServer;
  beforeEach(async () => {
    server = new HolderServer(SECRET);
    await server.start();
  });
  afterEach(() => server.stop());

  const request = {
    purgeId: 'purge-s1-1',
    subscriptionId: 's1',
    accountId: 'acc_1',
    productId: 'goto-meeting',
    idempotencyKey: 'purge-s1-1-recordings',
  };

  it('D11: POST <purge url>/verify, signed like the purge request but distinguishable from it, answers what remains', async () => {
    server.leftover.set('s1', 2);
    const holder = new HttpProductDataHolder({
      name: 'recordings',
      url: server.url,
      secret: SECRET,
    });
    expect(await holder.verify(request)).toEqual({
      holder: 'recordings',
      remainingItems: 2,
      method: 'http',
      externalReceiptId: 'verify-1',
    });
    expect(server.verifyCalls[0]).toMatchObject({
      signatureValid: true,
      idempotencyKey: expect.stringMatching(/^purge-s1-1-recordings-verify-[0-9a-f-]{36}$/),
      body: { action: 'verify', purgeId: 'purge-s1-1', subscriptionId: 's1' },
    });
    expect(server.calls).toHaveLength(0);
  });

  it('D11: a verify answer with a negative count is malformed: the holder fails, nothing is assumed', async () => {
    server.leftover.set('s1', -1);
    const holder = new HttpProductDataHolder({
      name: 'recordings',
      url: server.url,
      secret: SECRET,
    });
    await expect(holder.verify(request)).rejects.toThrow(/malformed answer/);
  });
});

describe('D11: a purge completes only when every holder finds nothing left', () => {
  let server: HolderServer;
  let t: TestApp;
  let close: () => Promise<void>;
  beforeAll(async () => {
    server = new HolderServer(SECRET);
    ({ t, close } = await startAppWithHttpHolder(server, SECRET));
  });
  afterAll(() => close());
  beforeEach(() => {
    server.leftover.clear();
    server.keepsLeftovers = false;
    server.behaviour = () => 'ok';
    server.verifyBehaviour = () => 'ok';
  });

  it('D11: the local holder plants a marker at registration; after the purge both holders verified, the signed receipt says verified', async () => {
    await dueForPurge(t, 'sub_v1');
    const folder = t.app.get(LocalProductDataStore).folderOf('sub_v1');
    expect(existsSync(join(folder, '.marker'))).toBe(true);

    expect(await purge(t, 'sub_v1')).toMatchObject({ status: 'purged' });
    expect(existsSync(folder)).toBe(false);
    const events = await streamOf(t, 'sub_v1');
    expect(events.map((e) => e.type).slice(-2)).toEqual(['PurgeVerified', 'ProductDataPurged']);
    const receipt = (events.at(-1)!.data as ProductDataPurged['data']).receipt;
    expect(receipt.verification?.holders).toEqual([
      { holder: 'local', remainingItems: 0, method: 'marker_scan', externalReceiptId: null },
      { holder: 'recordings', remainingItems: 0, method: 'http', externalReceiptId: 'verify-1' },
    ]);
    expect(
      server.verifyCalls
        .filter((c) => c.body.subscriptionId === 'sub_v1')
        .map((c) => c.body.action),
    ).toEqual(['verify']);

    const listed = await until(async () => {
      const r = await t.app.inject({
        method: 'GET',
        url: '/v1/audit/purges?subscriptionId=sub_v1',
        headers: auth(TOKENS.auditor),
      });
      return r.json<{ items: { verified: boolean; receipt: unknown }[] }>().items[0];
    }, 'receipt listed');
    expect(listed).toMatchObject({
      verified: true,
      receipt: { verification: receipt.verification },
    });
  });

  it('D11: a holder still finding data keeps the purge open (recorded once, listed, counted in a metric); deleted again under a new key and asked again, it completes when nothing is left', async () => {
    await dueForPurge(t, 'sub_v2');
    server.leftover.set('sub_v2', 3);
    server.keepsLeftovers = true;

    const first = await purge(t, 'sub_v2');
    expect(first).toMatchObject({
      status: 'open',
      failedHolders: [],
      unverifiedHolders: ['recordings'],
    });
    // Asked, sent its purge again under a new key (a cached answer would delete nothing), asked again.
    expect(server.verifyCalls.filter((c) => c.body.subscriptionId === 'sub_v2')).toHaveLength(2);
    const keys = () =>
      server.calls.filter((c) => c.body.subscriptionId === 'sub_v2').map((c) => c.idempotencyKey);
    expect(keys()).toHaveLength(2);
    expect(new Set(keys()).size).toBe(2);
    let events = await streamOf(t, 'sub_v2');
    expect(events.at(-1)).toMatchObject({
      type: 'PurgeVerificationFailed',
      data: { holders: [{ holder: 'recordings', remainingItems: 3, method: 'http' }] },
    });
    const failedAt = (events.at(-1)!.data as PurgeVerificationFailed['data']).checkedAt;
    // The personal data does not wait for the holder: the key is shredded already.
    expect(await t.app.get<GenerationalKeyStore>(KEY_STORE).listAccount('acc_p')).not.toContain(
      'key-subscription-sub_v2',
    );

    // Retried with the same finding: still open, nothing new written.
    expect(await purge(t, 'sub_v2')).toMatchObject({
      status: 'open',
      unverifiedHolders: ['recordings'],
    });
    expect((await streamOf(t, 'sub_v2')).length).toBe(events.length);

    const open = await until(async () => {
      const r = await t.app.inject({
        method: 'GET',
        url: '/v1/ops/purges/open',
        headers: auth(TOKENS.ops),
      });
      const item = r
        .json<{ items: { subscriptionId: string; remaining: unknown[] }[] }>()
        .items.find((x) => x.subscriptionId === 'sub_v2');
      return item && item.remaining.length > 0 ? item : undefined;
    }, 'open purge listed with what remains');
    expect(open).toMatchObject({
      holdersDone: ['local', 'recordings'],
      remaining: [{ holder: 'recordings', remainingItems: 3, checkedAt: failedAt }],
    });
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(
      /subscriptions_purge_verification_failures_total\{holder="recordings",reason="data_remains"\} [1-9]/,
    );

    // The holder's deletion works again: the next retry deletes what was left, verifies, completes.
    server.keepsLeftovers = false;
    expect(await purge(t, 'sub_v2')).toMatchObject({ status: 'purged' });
    expect(server.leftover.has('sub_v2')).toBe(false);
    events = await streamOf(t, 'sub_v2');
    expect(events.map((e) => e.type).slice(-3)).toEqual([
      'PurgeVerificationFailed',
      'PurgeVerified',
      'ProductDataPurged',
    ]);
  });

  it('D11: a holder that does not answer the verify request (no /verify route yet) keeps the purge open, unrecorded, counted as no_answer; the others are not asked to delete again', async () => {
    await dueForPurge(t, 'sub_v4');
    server.verifyBehaviour = () => 'not-found';
    expect(await purge(t, 'sub_v4')).toMatchObject({
      status: 'open',
      failedHolders: ['recordings'],
      unverifiedHolders: [],
    });
    const types = await eventTypes(t, 'sub_v4');
    expect(types.filter((x) => x.startsWith('PurgeVerif'))).toEqual([]);
    expect(types).not.toContain('ProductDataPurged');
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(
      /subscriptions_purge_verification_failures_total\{holder="recordings",reason="no_answer"\} [1-9]/,
    );
    server.verifyBehaviour = () => 'ok';
    expect(await purge(t, 'sub_v4')).toMatchObject({ status: 'purged' });
    expect((await eventTypes(t, 'sub_v4')).slice(-2)).toEqual([
      'PurgeVerified',
      'ProductDataPurged',
    ]);
  });

  it('D11: what one holder still finds is recorded while another does not answer; the purge stays open', async () => {
    await dueForPurge(t, 'sub_v5');
    server.leftover.set('sub_v5', 3);
    server.keepsLeftovers = true;
    // The local holder is down when asked (its deletion went through).
    const local = t.app.get(LocalProductDataStore);
    const down = jest
      .spyOn(local, 'verify')
      .mockRejectedValue(new HolderFailedError('local', 'did not answer'));
    expect(await purge(t, 'sub_v5')).toMatchObject({
      status: 'open',
      failedHolders: ['local'],
      unverifiedHolders: ['recordings'],
    });
    const events = await streamOf(t, 'sub_v5');
    expect(events.at(-1)).toMatchObject({
      type: 'PurgeVerificationFailed',
      data: { holders: [{ holder: 'recordings', remainingItems: 3, method: 'http' }] },
    });
    // Both back: nothing left anywhere, verified and complete.
    down.mockRestore();
    server.keepsLeftovers = false;
    expect(await purge(t, 'sub_v5')).toMatchObject({ status: 'purged' });
    expect((await eventTypes(t, 'sub_v5')).slice(-3)).toEqual([
      'PurgeVerificationFailed',
      'PurgeVerified',
      'ProductDataPurged',
    ]);
  });

  it('D11: data that reappears in the local holder before verification (a restored copy) is found, deleted again, and only then verified', async () => {
    await dueForPurge(t, 'sub_v3');
    // The HTTP holder fails the first run: the local deletion is recorded, the purge stays open.
    server.behaviour = () => 'fail';
    expect(await purge(t, 'sub_v3')).toMatchObject({
      status: 'open',
      failedHolders: ['recordings'],
    });
    const local = t.app.get(LocalProductDataStore);
    const folder = local.folderOf('sub_v3');
    expect(existsSync(folder)).toBe(false);
    const request = {
      purgeId: 'x',
      subscriptionId: 'sub_v3',
      accountId: 'acc_p',
      productId: 'goto-meeting',
      idempotencyKey: 'x',
    };
    expect((await local.verify(request)).remainingItems).toBe(0);
    // A copy comes back (a restore from backup) before the purge is retried.
    local.seed('sub_v3', 'acc_p', 'goto-meeting');
    writeFileSync(join(folder, 'restored.bin'), 'stray');
    expect((await local.verify(request)).remainingItems).toBe(5);

    server.behaviour = () => 'ok';
    expect(await purge(t, 'sub_v3')).toMatchObject({ status: 'purged' });
    expect(existsSync(folder)).toBe(false);
    const types = await eventTypes(t, 'sub_v3');
    expect(types).not.toContain('PurgeVerificationFailed');
    expect(types.slice(-2)).toEqual(['PurgeVerified', 'ProductDataPurged']);
  });
});
