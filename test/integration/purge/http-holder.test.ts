import { HolderFailedError, HttpProductDataHolder } from '@app/purge';
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
const request = {
  purgeId: 'purge-s1-1',
  subscriptionId: 's1',
  accountId: 'acc_1',
  productId: 'goto-meeting',
  idempotencyKey: 'purge-s1-1-recordings',
};

describe('HTTP data holder against a real local HTTP server', () => {
  let server: HolderServer;
  beforeEach(async () => {
    server = new HolderServer(SECRET);
    await server.start();
  });
  afterEach(() => server.stop());

  const holder = (o: Partial<ConstructorParameters<typeof HttpProductDataHolder>[0]> = {}) =>
    new HttpProductDataHolder({
      name: 'recordings',
      url: server.url,
      secret: SECRET,
      timeoutMs: 300,
      attempts: 4,
      backoffMs: 10,
      ...o,
    });

  it('R15: signs the request (HMAC-SHA256), sends the idempotency key, and turns the 2xx receipt into a holder receipt', async () => {
    const receipt = await holder().purge(request);
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]).toMatchObject({
      idempotencyKey: request.idempotencyKey,
      signatureValid: true,
      body: { subscriptionId: 's1', purgeId: 'purge-s1-1' },
    });
    expect(receipt).toEqual({
      holder: 'recordings',
      itemsDeleted: 42,
      bytesDeleted: 42_000,
      contentHash: 'sha256:s1',
      location: new URL(server.url).origin,
      externalReceiptId: 'rcpt-1',
    });
  });

  it('R15: a request the holder cannot authenticate (401) fails at once, without retries', async () => {
    await expect(holder({ secret: 'wrong' }).purge(request)).rejects.toBeInstanceOf(
      HolderFailedError,
    );
    expect(server.calls.every((c) => !c.signatureValid)).toBe(true);
    expect(server.calls).toHaveLength(1);
  });

  it('R15: retries on 500 and on timeouts, then succeeds', async () => {
    server.behaviour = (_, n) => (n === 1 ? 'fail' : n === 2 ? 'hang' : 'ok');
    const receipt = await holder().purge(request);
    expect(server.calls).toHaveLength(3);
    expect(receipt.itemsDeleted).toBe(42);
  });

  it('R15: idempotent when repeated: the same key answers the same receipt, items counted once', async () => {
    const first = await holder().purge(request);
    const second = await holder().purge(request);
    expect(second).toEqual(first);
    expect(second.itemsDeleted).toBe(42);
  });

  it('R15: gives up after its attempts with HolderFailedError', async () => {
    server.behaviour = () => 'fail';
    await expect(holder({ attempts: 3 }).purge(request)).rejects.toThrow(/answered 500/);
    expect(server.calls).toHaveLength(3);
  });
});

describe('a purge with a failing HTTP holder stays open, never "done"', () => {
  let server: HolderServer;
  let t: TestApp;
  let close: () => Promise<void>;
  beforeAll(async () => {
    server = new HolderServer(SECRET);
    ({ t, close } = await startAppWithHttpHolder(server, SECRET));
  });
  afterAll(() => close());

  it('R15: open while the holder fails (local part recorded once, listed in /v1/ops/purges/open), purged when it recovers, one receipt with both holders', async () => {
    const { expiresAt, purgeAt } = await registerAndCancel(t, 'sub_h');
    await t.clock.advanceTo(expiresAt);
    await runTermEnd(t, 'sub_h');
    await t.clock.advanceTo(purgeAt);
    server.behaviour = () => 'fail';
    expect(await purge(t, 'sub_h')).toMatchObject({
      status: 'open',
      failedHolders: ['recordings'],
    });
    expect(await purge(t, 'sub_h')).toMatchObject({
      status: 'open',
      failedHolders: ['recordings'],
    });
    let types = await eventTypes(t, 'sub_h');
    expect(types).not.toContain('ProductDataPurged');
    // Visible to operators while open (the read models follow the log: wait for them).
    const waitOpen = async () => {
      for (let i = 0; i < 100; i++) {
        const r = await t.app.inject({
          method: 'GET',
          url: '/v1/ops/purges/open',
          headers: auth(TOKENS.ops),
        });
        const items = r.json<{ items: { subscriptionId: string; holdersDone: string[] }[] }>()
          .items;
        if (items.some((x) => x.subscriptionId === 'sub_h' && x.holdersDone.includes('local')))
          return items;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error('open purge never listed');
    };
    expect((await waitOpen()).find((x) => x.subscriptionId === 'sub_h')).toMatchObject({
      holdersDone: ['local'],
    });
    const forbidden = await t.app.inject({
      method: 'GET',
      url: '/v1/ops/purges/open',
      headers: auth(TOKENS.reader),
    });
    expect(forbidden.statusCode).toBe(403);
    expect(types.filter((e) => e === 'ProductDataHolderPurged')).toHaveLength(1);

    server.behaviour = () => 'ok';
    expect(await purge(t, 'sub_h')).toMatchObject({ status: 'purged' });
    types = await eventTypes(t, 'sub_h');
    expect(types.filter((e) => e === 'ProductDataHolderPurged')).toHaveLength(2);
    expect(types.filter((e) => e === 'ProductDataPurged')).toHaveLength(1);
  });
});
