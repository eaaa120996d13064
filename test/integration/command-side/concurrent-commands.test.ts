import { CommandBus } from '@nestjs/cqrs';
import type { EventStore } from '@app/event-store';
import { EVENT_STORE } from '@app/infrastructure';
import { subscriptionStreamId } from '@app/domain';
import { CancelSubscriptionCommand } from '../../../apps/api/src/cancel-subscription/cancel-subscription.command';
import { RegisterSubscriptionCommand } from '../../../apps/api/src/register-subscription/register-subscription.command';
import { startApp, type TestApp } from '../../support/app-harness';
import { registration } from '../../support/fixtures';

const context = (commandId: string | null = null) => ({
  commandId,
  requestHash: commandId ? 'h' : null,
  correlationId: 'corr-1',
  causationId: null,
  actor: { actorId: 'usr_b', role: 'billing_admin' },
  channel: 'self_service',
});

async function register(bus: CommandBus, subscriptionId: string) {
  const { now: _now, ...input } = registration({ subscriptionId });
  await bus.execute(new RegisterSubscriptionCommand(input, context()));
}

const cancelCommand = (id: string) =>
  new CancelSubscriptionCommand(
    id,
    { actorId: 'usr_b', role: 'billing_admin' },
    'self_service',
    null,
    null,
    context(),
  );

describe('command side through the CommandBus (real SQLite file)', () => {
  let t: TestApp;
  let bus: CommandBus;
  let store: EventStore;
  beforeAll(async () => {
    t = await startApp();
    bus = t.app.get(CommandBus);
    store = t.app.get(EVENT_STORE);
  });
  afterAll(() => t.close());

  it('R13: 100 concurrent cancellations of one subscription write exactly one CancellationRequested and one AutoRenewDisabled', async () => {
    await register(bus, 'sub_race');
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, () => bus.execute(cancelCommand('sub_race'))),
    );
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toEqual([]);
    const events = await store.readStream(subscriptionStreamId('sub_race'));
    expect(events.map((e) => e.type)).toEqual([
      'SubscriptionRegistered',
      'CancellationRequested',
      'AutoRenewDisabled',
    ]);
    // Every caller got the same answer: pending until the end of February.
    const effective = new Set(
      results.map((r) => (r.status === 'fulfilled' ? r.value.effectiveAt : null)),
    );
    expect([...effective]).toEqual(['2026-02-27T23:00:00.000Z']);
  });

  it('R1: 1,000 subscriptions cancelled concurrently all succeed', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `sub_many_${i}`);
    await Promise.all(ids.map((id) => register(bus, id)));
    const results = await Promise.all(ids.map((id) => bus.execute(cancelCommand(id))));
    expect(
      results.every((r) => r.events.join() === 'CancellationRequested,AutoRenewDisabled'),
    ).toBe(true);
    for (const id of ids.slice(0, 20)) {
      const events = await store.readStream(subscriptionStreamId(id));
      expect(events.map((e) => e.type)).toEqual([
        'SubscriptionRegistered',
        'CancellationRequested',
        'AutoRenewDisabled',
      ]);
    }
  });

  it('idempotency: the same key and request returns the first result and writes nothing; another request with it is refused', async () => {
    await register(bus, 'sub_idem');
    const withKey = (hash: string) =>
      new CancelSubscriptionCommand(
        'sub_idem',
        { actorId: 'usr_b', role: 'billing_admin' },
        'self_service',
        null,
        null,
        {
          ...context('billing/key-1'),
          requestHash: hash,
        },
      );
    const first = await bus.execute(withKey('h1'));
    const again = await bus.execute(withKey('h1'));
    expect(again.events).toEqual(first.events);
    expect(again.position).toBe(first.position);
    expect((await store.readStream(subscriptionStreamId('sub_idem'))).length).toBe(3);
    await expect(bus.execute(withKey('h2'))).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
  });

  it('events carry their metadata: correlation id, actor, channel, command id, recordedAt from the injected clock', async () => {
    await register(bus, 'sub_meta');
    await bus.execute(
      new CancelSubscriptionCommand(
        'sub_meta',
        { actorId: 'usr_b', role: 'billing_admin' },
        'self_service',
        null,
        null,
        context('billing/meta'),
      ),
    );
    const [, requested] = await store.readStream(subscriptionStreamId('sub_meta'));
    expect(requested!.metadata).toMatchObject({
      correlationId: 'corr-1',
      commandId: 'billing/meta',
      actor: { actorId: 'usr_b', role: 'billing_admin' },
      channel: 'self_service',
      recordedAt: '2026-02-10T09:00:00.000Z',
      schemaVersion: 1,
    });
  });
});
