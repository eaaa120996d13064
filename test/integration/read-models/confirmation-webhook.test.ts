import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import {
  ConfirmationDispatcher,
  ReadDb,
  ReadModelProjection,
  READ_MODELS_PROJECTION,
  ReadStore,
  signWebhook,
  verifyWebhook,
  WebhookConfirmationSender,
} from '@app/read-models';
import { useTmpDir } from '../../support/tmp-dir';
import { LogDriver } from './support/log-driver';

const SECRET = 'whsec-test-0123456789abcdef';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  valid: boolean;
}

/** A receiver that answers each request with the next status of `script` (then 204). */
async function receiver(script: (number | 'hang')[]) {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      deliveries.push({
        headers: req.headers,
        body,
        valid: verifyWebhook(SECRET, req.headers, body),
      });
      const next = script.shift() ?? 204;
      if (next === 'hang') return; // never answers: the sender's timeout must fire
      res.statusCode = next;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/confirmations`;
  return { url, deliveries, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('R16 confirmations: the outbox delivered as a signed webhook (production notifier adapter)', () => {
  const tmp = useTmpDir('rm-webhook-');
  let driver: LogDriver;
  let readDb: ReadDb;
  let store: ReadStore;

  beforeEach(async () => {
    driver = new LogDriver(tmp());
    readDb = await ReadDb.open({ dataDir: tmp() });
    store = new ReadStore(readDb);
    await driver.register('s_contract', 'acc_w', { contract: true });
    await driver.cancelSupport('s_contract');
    await new ReadModelProjection(readDb).apply(await driver.all(), READ_MODELS_PROJECTION);
  });
  afterEach(async () => {
    await readDb.close();
    await driver.close();
  });

  it('R16: signs each delivery, retries after a failure, and marks it delivered once the receiver accepts (at least once, deduplicated by event id)', async () => {
    const hook = await receiver([500, 'hang']);
    try {
      const errors: string[] = [];
      const dispatcher = new ConfirmationDispatcher({
        store,
        sender: new WebhookConfirmationSender({ url: hook.url, secret: SECRET, timeoutMs: 200 }),
        backoffMs: () => 0,
        onError: (e) => errors.push(e instanceof Error ? e.message : String(e)),
      });
      expect(await dispatcher.runOnce()).toBe(0); // 500
      expect(await dispatcher.runOnce()).toBe(0); // no answer: timeout
      expect(await dispatcher.runOnce()).toBe(1); // 204
      expect(await dispatcher.runOnce()).toBe(0); // nothing left
      expect(errors).toEqual(['webhook answered 500', expect.stringMatching(/timeout|aborted/i)]);

      expect(hook.deliveries).toHaveLength(3);
      const ids = new Set(hook.deliveries.map((d) => d.headers['webhook-id']));
      const [row] = await store.confirmationsOf('acc_w', { limit: 10 });
      expect([...ids]).toEqual([row!.event_id]);
      expect(hook.deliveries.every((d) => d.valid)).toBe(true);
      // A consumer using the standardwebhooks package with the same raw secret accepts them too.
      const consumer = new Webhook(Buffer.from(SECRET), { format: 'raw' });
      for (const d of hook.deliveries)
        expect(consumer.verify(d.body, d.headers as Record<string, string>)).toMatchObject({
          eventId: row!.event_id,
        });
      expect(JSON.parse(hook.deliveries[2]!.body)).toMatchObject({
        type: 'subscription.cancellation.confirmed',
        eventId: row!.event_id,
        accountId: 'acc_w',
        subscriptionId: 's_contract',
        subject: 'Cancellation of goto-meeting recorded',
      });
      expect(row).toMatchObject({ status: 'delivered', attempts: 3, last_error: null });
    } finally {
      await hook.close();
    }
  });

  it('a receiver can tell a forged or replayed delivery: wrong secret, altered body, stale timestamp', () => {
    const now = 1_800_000_000;
    const body = '{"eventId":"e1"}';
    const headers = {
      'webhook-id': 'e1',
      'webhook-timestamp': String(now),
      'webhook-signature': signWebhook(SECRET, 'e1', now, body),
    };
    expect(verifyWebhook(SECRET, headers, body, { nowSeconds: now })).toBe(true);
    expect(verifyWebhook('another-secret-0123456789', headers, body, { nowSeconds: now })).toBe(
      false,
    );
    expect(verifyWebhook(SECRET, headers, '{"eventId":"e2"}', { nowSeconds: now })).toBe(false);
    expect(verifyWebhook(SECRET, headers, body, { nowSeconds: now + 3600 })).toBe(false);
    expect(
      verifyWebhook(SECRET, { ...headers, 'webhook-id': 'e2' }, body, { nowSeconds: now }),
    ).toBe(false);
  });

  it('the dispatcher loop starts, delivers and stops cleanly', async () => {
    const hook = await receiver([]);
    try {
      const dispatcher = new ConfirmationDispatcher({
        store,
        sender: new WebhookConfirmationSender({ url: hook.url, secret: SECRET }),
        intervalMs: 10,
      });
      dispatcher.start();
      const deadline = Date.now() + 5000;
      while ((await store.confirmationsOf('acc_w', { limit: 1 }))[0]!.status !== 'delivered') {
        if (Date.now() > deadline) throw new Error('not delivered');
        await new Promise((r) => setTimeout(r, 10));
      }
      await dispatcher.stop();
      expect(hook.deliveries).toHaveLength(1);
    } finally {
      await hook.close();
    }
  });
});
