import { auth, registrationBody, startApp, type TestApp, TOKENS } from '../support/app-harness';
import { eventually, WebhookReceiver } from '../support/webhook-receiver';

const SECRET = 'confirmation-secret-0123456789';

/**
 * R16 in the app: with NOTIFY_WEBHOOK_URL set, the process holding the confirmation-dispatcher
 * lease sends each confirmation (the module's wiring, not the sender alone).
 */
describe('R16 confirmations sent by the app with NOTIFY_WEBHOOK_URL', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  const saved = { ...process.env };
  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    process.env['NOTIFY_WEBHOOK_URL'] = receiver.url('/confirmations');
    process.env['NOTIFY_WEBHOOK_SECRET'] = SECRET;
    process.env['NOTIFY_INTERVAL_MS'] = '20';
    t = await startApp({ logLevel: 'warn' });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    process.env = saved;
  });

  it('R16: a contract cancellation reaches the configured webhook', async () => {
    const inject = (url: string, token: string, payload: object) =>
      t.app.inject({ method: 'POST', url, headers: auth(token), payload });
    const registered = await inject(
      '/v1/subscriptions',
      TOKENS.writer,
      registrationBody({ subscriptionId: 'r16_wired', accountId: 'acc_r16_wired', contract: true }),
    );
    expect(registered.statusCode).toBe(201);
    const cancelled = await inject('/v1/subscriptions/r16_wired/cancellation', TOKENS.writer, {
      requestedBy: { actorId: 'usr_admin', role: 'billing_admin' },
      channel: 'support',
      survey: { reason: 'switched_service' },
      verification: {
        billingAdminEmail: 'admin@example.org',
        paymentLast4: '4242',
        billingAddress: '1 Main Street',
      },
    });
    expect(cancelled.statusCode).toBe(200);
    await eventually(() => receiver.applied.length === 1, 'the confirmation at the receiver');
    const [delivery] = receiver.applied;
    expect(delivery!.event).toMatchObject({ subscriptionId: 'r16_wired' });
    expect(receiver.requests).toHaveLength(1);
  });
});
