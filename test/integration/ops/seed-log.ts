import {
  type AccountCommand,
  accountDecider,
  accountStreamId,
  type Actor,
  DomainError,
  type SubscriptionCommand,
  type SubscriptionState,
  subscriptionDecider,
  subscriptionStreamId,
} from '@app/domain';
import type { EventStore, NewEvent } from '@app/event-store';

const PLANS = [
  { kind: 'monthly' },
  { kind: 'annual' },
  { kind: 'fixed_term', termMonths: 15 },
  { kind: 'trial', trialDays: 14 },
] as const;
const PRODUCTS = [
  'goto-meeting',
  'goto-webinar',
  'openvoice',
  'goto-connect',
  'goto-room',
  'rescue',
];
const admin: Actor = { actorId: 'usr_admin', role: 'billing_admin' };
const plain: Actor = { actorId: 'usr_plain', role: 'user' };

const addDays = (iso: string, days: number): string =>
  new Date(Date.parse(iso) + days * 86_400_000).toISOString();

/**
 * Appends a realistic log through the real deciders: subscriptions of every plan kind and several
 * products, refusals (D6), cancellations with surveys (encrypted personal fields), term ends,
 * purges, and legal holds on some accounts, until at least `targetEvents` events exist.
 * Returns the number of events and subscriptions written. Subscription `sub_<n>` belongs to
 * account `acc_<n/5>`.
 */
export async function seedLog(
  stores: { store: EventStore; raw?: EventStore },
  targetEvents: number,
  options: { concurrency?: number; prefix?: string; encryptEvery?: number } = {},
): Promise<{ events: number; subscriptions: number }> {
  const encryptEvery = options.encryptEvery ?? 1;
  const prefix = options.prefix ?? 'sub';
  let events = 0;
  let i = 0;
  const concurrency = options.concurrency ?? 256;
  const one = async (n: number): Promise<number> => {
    // Personal fields are encrypted through the encrypting store; the raw store (when given)
    // takes the other subscriptions, faster (no key per subscription).
    const store = stores.raw && n % encryptEvery !== 0 ? stores.raw : stores.store;
    const subscriptionId = `${prefix}_${n}`;
    const accountId = `acc_${Math.floor(n / 5)}`;
    const termStart = addDays('2025-01-01T00:00:00.000Z', n % 300);
    let state: SubscriptionState = subscriptionDecider.initialState();
    const out: NewEvent[] = [];
    const run = (command: SubscriptionCommand, actor: Actor | null, channel: string): void => {
      let produced;
      try {
        produced = subscriptionDecider.decide(command, state);
      } catch (error) {
        if (error instanceof DomainError) return;
        throw error;
      }
      const now = (command.data as { now: string }).now;
      for (const e of produced) {
        state = subscriptionDecider.evolve(state, e);
        out.push({
          type: e.type,
          data: e.data,
          metadata: {
            correlationId: `corr-${subscriptionId}-${out.length}`,
            causationId: null,
            commandId: null,
            actor,
            channel,
            recordedAt: now,
            schemaVersion: 1,
          },
        });
      }
    };
    const plan = PLANS[n % PLANS.length]!;
    run(
      {
        type: 'RegisterSubscription',
        data: {
          subscriptionId,
          accountId,
          productId: PRODUCTS[n % PRODUCTS.length]!,
          plan,
          termStart,
          timeZone: n % 2 ? 'Europe/Rome' : 'America/New_York',
          contract: n % 7 === 0,
          autoRenew: true,
          outstandingBalance: null,
          assignedLicences: n % 10,
          now: termStart,
        },
      },
      admin,
      'support',
    );
    const mid = addDays(termStart, 10);
    if (n % 3 === 0)
      run(
        {
          type: 'RequestCancellation',
          data: { subscriptionId, requestedBy: plain, channel: 'self_service', now: mid },
        },
        plain,
        'self_service',
      );
    run(
      {
        type: 'RequestCancellation',
        data: {
          subscriptionId,
          requestedBy: admin,
          channel: 'support',
          survey: { reason: 'too_expensive', comment: `comment of ${subscriptionId}` },
          verification: {
            billingAdminEmail: `${accountId}@example.com`,
            paymentLast4: '4242',
            billingAddress: 'Via Roma 1',
          },
          now: addDays(mid, 1),
        },
      },
      admin,
      'support',
    );
    const expiresAt = (state as { expiresAt?: string | null }).expiresAt;
    if (expiresAt && n % 2 === 0) {
      run({ type: 'ProcessTermEnd', data: { subscriptionId, now: expiresAt } }, null, 'system');
      const purgeAt = (state as { purgeAt?: string | null }).purgeAt;
      if (purgeAt && n % 4 === 0) {
        const purgeId = `purge-${subscriptionId}`;
        run(
          {
            type: 'StartPurge',
            data: { subscriptionId, purgeId, holders: ['local'], legalHold: false, now: purgeAt },
          },
          null,
          'system',
        );
        run(
          {
            type: 'RecordHolderPurged',
            data: {
              subscriptionId,
              purgeId,
              receipt: {
                holder: 'local',
                itemsDeleted: 3,
                bytesDeleted: 1024,
                contentHash: 'ab'.repeat(32),
                location: `local:${subscriptionId}`,
                externalReceiptId: null,
              },
              now: purgeAt,
            },
          },
          null,
          'system',
        );
        run(
          {
            type: 'CompletePurge',
            data: {
              subscriptionId,
              purgeId,
              keysShredded: [],
              readModelRowsScrubbed: 0,
              jobsRemoved: 0,
              now: purgeAt,
            },
          },
          null,
          'system',
        );
      }
    }
    await store.appendToStream(subscriptionStreamId(subscriptionId), out, {
      expectedRevision: 'no_stream',
    });
    if (n % 50 === 0) {
      const hold: AccountCommand = {
        type: 'PlaceLegalHold',
        data: {
          accountId,
          holdId: `hold-${n}`,
          requestedBy: admin,
          reason: `hold reason ${n}`,
          now: mid,
        },
      };
      const held = accountDecider.decide(hold, accountDecider.initialState());
      await store.appendToStream(
        accountStreamId(`${accountId}-${prefix}`),
        held.map((e) => ({
          type: e.type,
          data: {
            ...(e.data as unknown as Record<string, unknown>),
            accountId: `${accountId}-${prefix}`,
          },
          metadata: {
            correlationId: `hold-${n}`,
            causationId: null,
            commandId: null,
            actor: admin,
            channel: 'operator',
            recordedAt: mid,
            schemaVersion: 1,
          },
        })),
        { expectedRevision: 'no_stream' },
      );
      return out.length + held.length;
    }
    return out.length;
  };
  while (events < targetEvents) {
    const batch = Array.from({ length: concurrency }, () => i++);
    const counts = await Promise.all(batch.map(one));
    events += counts.reduce((a, b) => a + b, 0);
  }
  return { events, subscriptions: i };
}
