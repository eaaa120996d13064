import fc from 'fast-check';
import {
  type Actor,
  fold,
  isRegistered,
  type SubscriptionCommand,
  subscriptionDecider,
  type SubscriptionEvent,
  subscriptionStreamId,
} from '@app/domain';
import {
  ReadDb,
  ReadModelProjection,
  ReadModelProjector,
  READ_MODELS_PROJECTION,
  ReadStore,
} from '@app/read-models';
import { makeTmpDir, removeTmpDir, useTmpDir } from '../../support/tmp-dir';
import { BILLING_ADMIN, LogDriver } from './support/log-driver';

describe('read-model projector (checkpointed catch-up subscription)', () => {
  const tmp = useTmpDir('rm-projector-');

  it('follows the log, resumes from its checkpoint after a stop, and lets readers wait for a position', async () => {
    const driver = new LogDriver(tmp());
    const readDb = await ReadDb.open({ dataDir: tmp() });
    const store = new ReadStore(readDb);
    const projector = new ReadModelProjector({
      log: driver.raw,
      readDb,
      readStore: store,
      batchSize: 2,
    });
    try {
      await driver.register('s1', 'acc_p');
      projector.start();
      const first = await driver.cancelSelfService('s1');
      expect(await projector.waitFor(first.position!, 5000)).toBe(true);
      expect((await store.subscriptionsOf('acc_p'))[0]!.state.status).toBe('cancellation_pending');

      await projector.stop();
      const second = await driver.register('s2', 'acc_p');
      expect(await projector.waitFor(second.position!, 50)).toBe(false);
      expect(await projector.lag()).toBe(1n);
      projector.start();
      expect(await projector.waitFor(second.position!, 5000)).toBe(true);
      expect(await projector.lag()).toBe(0n);
      expect((await store.subscriptionsOf('acc_p')).map((s) => s.state.subscriptionId)).toEqual([
        's1',
        's2',
      ]);
      expect((await store.auditRows({}, { limit: 100 })).length).toBe(4);
      expect(projector.health.failing).toBe(false);
    } finally {
      await projector.stop();
      await readDb.close();
      await driver.close();
    }
  });

  it('two projectors on one read database (api and worker) end where one would, never moving a row back', async () => {
    const driver = new LogDriver(tmp());
    const shared = await ReadDb.open({ dataDir: tmp() });
    const sharedStore = new ReadStore(shared);
    const a = new ReadModelProjector({
      log: driver.raw,
      readDb: shared,
      readStore: sharedStore,
      batchSize: 3,
    });
    const b = new ReadModelProjector({
      log: driver.raw,
      readDb: shared,
      readStore: sharedStore,
      batchSize: 5,
    });
    const aloneDir = makeTmpDir('rm-alone-');
    const alone = await ReadDb.open({ dataDir: aloneDir });
    try {
      a.start();
      for (let i = 0; i < 12; i++) {
        await driver.register(`s${i}`, 'acc_2p');
        if (i === 4) b.start();
        if (i % 3 === 0) await driver.cancelSelfService(`s${i}`);
      }
      const head = (await driver.raw.headPosition())!;
      expect(await a.waitFor(head, 5000)).toBe(true);
      expect(await b.waitFor(head, 5000)).toBe(true);
      await a.stop();
      await b.stop();
      await new ReadModelProjection(alone).apply(await driver.all(), READ_MODELS_PROJECTION);
      const snapshot = async (db: ReadDb) => {
        const s = new ReadStore(db);
        return {
          list: await s.subscriptionsOf('acc_2p'),
          audit: (await s.auditRows({}, { limit: 1000 })).map((r) => [
            String(r.position),
            r.type,
            r.data,
          ]),
          checkpoint: await s.checkpoint(),
        };
      };
      expect(await snapshot(shared)).toEqual(await snapshot(alone));
    } finally {
      await a.stop();
      await b.stop();
      await shared.close();
      await alone.close();
      await driver.close();
      removeTmpDir(aloneDir);
    }
  });
});

/** Commands a random history is made of (invalid ones are refused by the domain: also fine). */
type Step =
  | { kind: 'register'; sub: number; autoRenew: boolean; contract: boolean }
  | { kind: 'cancel'; sub: number; support: boolean; role: Actor['role'] }
  | { kind: 'withdraw'; sub: number }
  | { kind: 'termEnd'; sub: number }
  | { kind: 'reactivate'; sub: number }
  | { kind: 'advance'; days: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('register' as const),
    sub: fc.nat(3),
    autoRenew: fc.boolean(),
    contract: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('cancel' as const),
    sub: fc.nat(3),
    support: fc.boolean(),
    role: fc.constantFrom<Actor['role']>('billing_admin', 'product_admin', 'user'),
  }),
  fc.record({ kind: fc.constant('withdraw' as const), sub: fc.nat(3) }),
  fc.record({ kind: fc.constant('termEnd' as const), sub: fc.nat(3) }),
  fc.record({ kind: fc.constant('reactivate' as const), sub: fc.nat(3) }),
  fc.record({ kind: fc.constant('advance' as const), days: fc.integer({ min: 1, max: 60 }) }),
);

/** Every history starts with the four subscriptions registered (of random kinds). */
const registrations: fc.Arbitrary<Step[]> = fc.tuple(
  ...[0, 1, 2, 3].map((sub) =>
    fc.record({
      kind: fc.constant('register' as const),
      sub: fc.constant(sub),
      autoRenew: fc.boolean(),
      contract: fc.boolean(),
    }),
  ),
);

describe('projection = fold of the log (property, fast-check)', () => {
  it('R16: for random histories, every listed subscription is the fold of its stream and the audit log is the log, whatever the batch sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        registrations,
        fc.array(step, { minLength: 5, maxLength: 30, size: 'max' }),
        fc.integer({ min: 1, max: 7 }),
        async (first, rest, batch) => {
          const steps = [...first, ...rest];
          const dir = makeTmpDir('rm-prop-');
          const driver = new LogDriver(dir);
          const readDb = await ReadDb.open({ dataDir: dir });
          try {
            for (const s of steps) await apply(driver, s);
            const events = await driver.all();
            const projection = new ReadModelProjection(readDb);
            for (let i = 0; i < events.length; i += batch)
              await projection.apply(events.slice(i, i + batch), READ_MODELS_PROJECTION);
            // Delivered again from the start (a crash before the checkpoint): nothing changes.
            await projection.apply(events.slice(0, batch * 2), READ_MODELS_PROJECTION);

            const store = new ReadStore(readDb);
            const listed = await store.subscriptionsOf('acc_prop');
            const expected = [];
            for (let sub = 0; sub <= 3; sub++) {
              const stream = await driver.raw.readStream(subscriptionStreamId(`p${sub}`));
              const state = fold(
                subscriptionDecider,
                stream.map((e) => ({ type: e.type, data: e.data }) as SubscriptionEvent),
              );
              if (isRegistered(state))
                expected.push({ id: `p${sub}`, state, revision: stream.length - 1 });
            }
            const byId = new Map(listed.map((l) => [l.state.subscriptionId, l]));
            expect(listed).toHaveLength(expected.length);
            for (const e of expected) {
              expect(byId.get(e.id)?.state).toEqual(e.state);
              expect(byId.get(e.id)?.revision).toBe(e.revision);
            }
            const audit = await store.auditRows({}, { limit: 10_000 });
            expect(audit.map((r) => [BigInt(r.position), r.type])).toEqual(
              events.map((e) => [e.position, e.type]),
            );
            expect(await store.checkpoint()).toBe(events.at(-1)?.position ?? null);
          } finally {
            await readDb.close();
            await driver.close();
            removeTmpDir(dir);
          }
        },
      ),
      { numRuns: 30 },
    );
  }, 60_000);
});

async function apply(driver: LogDriver, s: Step): Promise<void> {
  const id = `p${'sub' in s ? s.sub : 0}`;
  const now = driver.now();
  const commands: Record<Step['kind'], () => SubscriptionCommand | null> = {
    register: () => null,
    cancel: () =>
      s.kind === 'cancel'
        ? {
            type: 'RequestCancellation',
            data: {
              subscriptionId: id,
              requestedBy: { actorId: 'usr_p', role: s.role },
              channel: s.support ? 'support' : 'self_service',
              survey: null,
              verification: s.support
                ? {
                    billingAdminEmail: 'p@example.org',
                    paymentLast4: '1234',
                    billingAddress: 'Somewhere 1',
                  }
                : null,
              now,
            },
          }
        : null,
    withdraw: () => ({
      type: 'WithdrawCancellation',
      data: { subscriptionId: id, requestedBy: BILLING_ADMIN, channel: 'self_service', now },
    }),
    termEnd: () => ({ type: 'ProcessTermEnd', data: { subscriptionId: id, now } }),
    reactivate: () => ({
      type: 'ReactivateSubscription',
      data: { subscriptionId: id, requestedBy: BILLING_ADMIN, channel: 'support', now },
    }),
    advance: () => null,
  };
  try {
    if (s.kind === 'advance') {
      await driver.clock.advanceTo(driver.clock.now().plus({ days: s.days }));
    } else if (s.kind === 'register') {
      await driver.register(id, 'acc_prop', { autoRenew: s.autoRenew, contract: s.contract });
    } else {
      await driver.subscription(id, commands[s.kind]()!);
    }
  } catch (error) {
    // Refusals thrown by the domain (not registered, invalid state, …) write nothing: fine.
    if (typeof (error as { code?: unknown }).code !== 'string') throw error;
  }
}
