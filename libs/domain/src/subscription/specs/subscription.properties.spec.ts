import fc from 'fast-check';
import { DateTime } from 'luxon';
import { PRODUCT_IDS } from '../../catalogue/product-catalogue';
import { purgeDateFor, termBoundary } from '../../calendar/term-calendar';
import { subscriptionDecider } from '../../deciders';
import { cancellationRefusals } from '../cancellation-policy';
import { DomainError } from '../../shared/domain-error';
import { fold } from '../../shared/decider';
import { isBefore, toInstant } from '../../shared/time';
import { type Actor, type CustomerChannel, sameMoney } from '../../shared/actor';
import type { Plan } from '../plan';
import type { SubscriptionCommand } from '../subscription.commands';
import type { SubscriptionEvent } from '../subscription.events';
import type { SubscriptionState } from '../subscription.state';

/**
 * Property tests over random histories: a random registration, then random commands at random
 * forward clock moves (the way the scheduler and customers would interleave them).
 */
const ZONES = [
  'Europe/Rome',
  'America/New_York',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'UTC',
  'Pacific/Chatham',
];
const SUB = 'sub_p';

const planArb: fc.Arbitrary<Plan> = fc.oneof(
  fc.constant<Plan>({ kind: 'monthly' }),
  fc.constant<Plan>({ kind: 'annual' }),
  fc.integer({ min: 1, max: 36 }).map<Plan>((termMonths) => ({ kind: 'fixed_term', termMonths })),
  fc.integer({ min: 1, max: 60 }).map<Plan>((trialDays) => ({ kind: 'trial', trialDays })),
);
const instantArb = (min: string, max: string) =>
  fc
    .integer({ min: DateTime.fromISO(min).toMillis(), max: DateTime.fromISO(max).toMillis() })
    .map((ms) => toInstant(DateTime.fromMillis(ms)));

const registrationArb = fc.record({
  productId: fc.constantFrom(...PRODUCT_IDS),
  plan: planArb,
  termStart: instantArb('2024-01-01T00:00:00Z', '2027-01-01T00:00:00Z'),
  timeZone: fc.constantFrom(...ZONES),
  contract: fc.boolean(),
  autoRenew: fc.boolean(),
  balance: fc.constantFrom('0.00', '12.50'),
});

const actorArb: fc.Arbitrary<Actor> = fc
  .constantFrom<Actor['role']>(
    'billing_admin',
    'product_admin',
    'authorized_billing_contact',
    'user',
  )
  .map((role) => ({ actorId: `usr_${role}`, role }));
const channelArb = fc.constantFrom<CustomerChannel>('self_service', 'support');

type Step = {
  advanceMs: number;
  make: (now: string, state: SubscriptionState) => SubscriptionCommand;
};
const stepArb: fc.Arbitrary<Step> = fc.record({
  advanceMs: fc.oneof(
    fc.integer({ min: 0, max: 1000 }),
    fc.integer({ min: 0, max: 120 * 24 * 3600 * 1000 }),
  ),
  make: fc.oneof(
    fc
      .tuple(actorArb, channelArb, fc.boolean())
      .map(([requestedBy, channel, verified]) => (now: string) => ({
        type: 'RequestCancellation' as const,
        data: {
          subscriptionId: SUB,
          requestedBy,
          channel,
          now,
          verification: verified
            ? { billingAdminEmail: 'a@b.it', paymentLast4: '4242', billingAddress: 'Via X' }
            : null,
        },
      })),
    actorArb.map((requestedBy) => (now: string) => ({
      type: 'WithdrawCancellation' as const,
      data: { subscriptionId: SUB, requestedBy, channel: 'self_service' as const, now },
    })),
    fc.constant((now: string) => ({
      type: 'ProcessTermEnd' as const,
      data: { subscriptionId: SUB, now },
    })),
    fc.constant((now: string) => ({
      type: 'ProcessTermEnd' as const,
      data: { subscriptionId: SUB, now },
    })),
    actorArb.map((requestedBy) => (now: string) => ({
      type: 'ReactivateSubscription' as const,
      data: { subscriptionId: SUB, requestedBy, channel: 'support' as const, now },
    })),
    fc.boolean().map((legalHold) => (now: string) => ({
      type: 'StartPurge' as const,
      data: { subscriptionId: SUB, purgeId: 'p', holders: ['local'], legalHold, now },
    })),
    fc.constant((now: string, state: SubscriptionState) => ({
      type: 'RecordHolderPurged' as const,
      data: {
        subscriptionId: SUB,
        purgeId: state.status === 'expired' && state.purge ? state.purge.purgeId : 'p',
        receipt: {
          holder: 'local',
          itemsDeleted: 1,
          bytesDeleted: 1,
          contentHash: 'h',
          location: 'l',
          externalReceiptId: null,
        },
        now,
      },
    })),
    fc
      .record({
        amount: fc.option(fc.constantFrom('0.00', '0', '12.50', '12.5', '99.00'), {
          nil: undefined,
        }),
        licences: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
      })
      .map(({ amount, licences }) => (now: string) => ({
        type: 'UpdateBillingFacts' as const,
        data: {
          subscriptionId: SUB,
          requestedBy: null,
          channel: 'system' as const,
          now,
          ...(amount === undefined ? {} : { outstandingBalance: { amount, currency: 'EUR' } }),
          ...(licences === undefined ? {} : { assignedLicences: licences }),
        },
      })),
    fc.constant((now: string) => ({
      type: 'CompletePurge' as const,
      data: {
        subscriptionId: SUB,
        purgeId: 'p',
        keysShredded: [],
        readModelRowsScrubbed: 0,
        jobsRemoved: 0,
        now,
      },
    })),
  ),
});

interface Run {
  /** Per decided command: state before, the command, the events, the state after. */
  steps: {
    before: SubscriptionState;
    command: SubscriptionCommand;
    events: SubscriptionEvent[];
    after: SubscriptionState;
    error?: DomainError;
  }[];
}

type Registration = typeof registrationArb extends fc.Arbitrary<infer R> ? R : never;

function runHistory(reg: Registration, steps: Step[]): Run {
  let now = reg.termStart;
  let history: SubscriptionEvent[] = subscriptionDecider.decide(
    {
      type: 'RegisterSubscription',
      data: {
        subscriptionId: SUB,
        accountId: 'acc_p',
        productId: reg.productId,
        plan: reg.plan,
        termStart: reg.termStart,
        timeZone: reg.timeZone,
        contract: reg.contract,
        autoRenew: reg.autoRenew,
        outstandingBalance: { amount: reg.balance, currency: 'EUR' },
        now,
      },
    },
    subscriptionDecider.initialState(),
  );
  const run: Run = { steps: [] };
  for (const step of steps) {
    now = toInstant(DateTime.fromISO(now).plus({ milliseconds: step.advanceMs }));
    const before = fold(subscriptionDecider, history);
    const command = step.make(now, before);
    try {
      const events = subscriptionDecider.decide(command, before);
      history = [...history, ...events];
      run.steps.push({ before, command, events, after: fold(subscriptionDecider, history) });
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      run.steps.push({ before, command, events: [], after: before, error: e });
    }
  }
  return run;
}

const historyArb = fc.tuple(registrationArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }));

describe('subscription invariants (property tests)', () => {
  it('R14: random histories and clock moves never expire a subscription before its term end', () => {
    let expiries = 0;
    fc.assert(
      fc.property(historyArb, ([reg, steps]) => {
        for (const s of runHistory(reg, steps).steps) {
          for (const e of s.events) {
            if (e.type !== 'SubscriptionExpired') continue;
            expiries++;
            expect(isBefore(e.data.expiredAt, e.data.expiresAt)).toBe(false);
            // Expiry happens at a boundary the state knew: the trial end, the term end or the pending expiry.
            const b = s.before;
            expect(
              b.status === 'trial' || b.status === 'active' || b.status === 'cancellation_pending',
            ).toBe(true);
            if (b.status === 'cancellation_pending' || b.status === 'trial')
              expect(e.data.expiresAt).toBe(b.expiresAt);
            if (b.status === 'active') expect(e.data.expiresAt).toBe(b.currentTerm.end);
          }
        }
      }),
      { numRuns: 300 },
    );
    // The generator must actually reach the case, or the property proves nothing.
    expect(expiries).toBeGreaterThan(20);
  });

  it('R15: random histories and clock moves never purge before expiry + 90 days', () => {
    let purges = 0;
    fc.assert(
      fc.property(historyArb, ([reg, steps]) => {
        for (const s of runHistory(reg, steps).steps) {
          for (const e of s.events) {
            if (e.type === 'PurgeStarted' || e.type === 'ProductDataPurged') {
              purges++;
              const b = s.before;
              expect(b.status).toBe('expired');
              if (b.status !== 'expired') continue;
              expect(b.purgeAt).toBe(purgeDateFor(b.expiresAt, b.timeZone));
              const when = e.type === 'PurgeStarted' ? e.data.startedAt : e.data.purgedAt;
              expect(isBefore(when, b.purgeAt)).toBe(false);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
    expect(purges).toBeGreaterThan(0); // about 10 per run on average: the case is reached
  });

  it('D6/R13: a refusal, a repeat or a rejected command never changes the state', () => {
    fc.assert(
      fc.property(historyArb, ([reg, steps]) => {
        for (const s of runHistory(reg, steps).steps) {
          const onlyRefusal = s.events.every((e) => e.type === 'CancellationRefused');
          if (onlyRefusal) expect(s.after).toEqual(s.before);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('D9: a billing facts update never changes the status or anything but the two facts', () => {
    let updates = 0;
    fc.assert(
      fc.property(historyArb, ([reg, steps]) => {
        for (const s of runHistory(reg, steps).steps) {
          if (s.command.type !== 'UpdateBillingFacts') continue;
          if (s.events.length === 0) {
            expect(s.after).toEqual(s.before);
            continue;
          }
          updates++;
          expect(s.events.map((e) => e.type)).toEqual(['BillingFactsUpdated']);
          const b = s.before;
          if (b.status === 'unregistered') throw new Error('updated an unregistered subscription');
          expect(b.status).not.toBe('purged');
          const given = s.command.data.outstandingBalance;
          expect(s.after).toEqual({
            ...b,
            // The same value spelt otherwise ("12.5" for "12.50") keeps the recorded spelling.
            outstandingBalance:
              given === undefined || sameMoney(given, b.outstandingBalance)
                ? b.outstandingBalance
                : given,
            assignedLicences: s.command.data.assignedLicences ?? b.assignedLicences,
          });
        }
      }),
      { numRuns: 300 },
    );
    expect(updates).toBeGreaterThan(20);
  });

  it('D9/R6: self-service is refused for a balance exactly when the latest balance is positive', () => {
    let decided = 0;
    fc.assert(
      fc.property(historyArb, ([reg, steps]) => {
        // The latest balance, tracked beside the decider: the registration's, then each change.
        let latest: string = reg.balance;
        for (const s of runHistory(reg, steps).steps) {
          for (const e of s.events)
            if (e.type === 'BillingFactsUpdated') latest = e.data.outstandingBalance!.amount;
          const c = s.command;
          if (c.type !== 'RequestCancellation' || c.data.channel !== 'self_service') continue;
          if (s.before.status !== 'active') continue;
          decided++;
          const owes = /[1-9]/.test(latest);
          const rules = cancellationRefusals(s.before, c.data.requestedBy.role, 'self_service');
          expect(rules.some((r) => r.rule === 'R6')).toBe(owes);
          // The decision records the first refusal: R6 only ever with a balance owed.
          if (s.events.some((e) => e.type === 'CancellationRefused' && e.data.rule === 'R6'))
            expect(owes).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    expect(decided).toBeGreaterThan(20);
  });

  it('D2/R15: nothing comes back after a purge', () => {
    fc.assert(
      fc.property(historyArb, ([reg, steps]) => {
        let purged = false;
        for (const s of runHistory(reg, steps).steps) {
          if (purged) expect(s.after.status).toBe('purged');
          if (s.after.status === 'purged') purged = true;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('D4: anchored renewals over 10 years never drift', () => {
    fc.assert(
      fc.property(
        instantArb('2020-01-01T00:00:00Z', '2030-12-31T00:00:00Z'),
        fc.constantFrom(...ZONES),
        fc.oneof(
          fc.constant<Plan>({ kind: 'monthly' }),
          fc.constant<Plan>({ kind: 'annual' }),
          fc
            .integer({ min: 1, max: 24 })
            .map<Plan>((termMonths) => ({ kind: 'fixed_term', termMonths })),
        ),
        (termStart, timeZone, plan) => {
          let history: SubscriptionEvent[] = subscriptionDecider.decide(
            {
              type: 'RegisterSubscription',
              data: {
                subscriptionId: SUB,
                accountId: 'a',
                productId: 'goto-meeting',
                plan,
                termStart,
                timeZone,
                contract: false,
                autoRenew: true,
                now: termStart,
              },
            },
            subscriptionDecider.initialState(),
          );
          const anchorLocal = DateTime.fromISO(termStart).setZone(timeZone);
          const tenYears = anchorLocal.plus({ years: 10 });
          for (let k = 1; ; k++) {
            const state = fold(subscriptionDecider, history);
            if (state.status !== 'active') throw new Error(`unexpected ${state.status}`);
            const end = DateTime.fromISO(state.currentTerm.end).setZone(timeZone);
            if (end > tenYears) break;
            const events = subscriptionDecider.decide(
              { type: 'ProcessTermEnd', data: { subscriptionId: SUB, now: state.currentTerm.end } },
              state,
            );
            expect(events.map((e) => e.type)).toEqual(['SubscriptionRenewed']);
            history = [...history, ...events];
            // Term k ends exactly at anchor + k × length…
            expect(state.currentTerm.end).toBe(termBoundary(termStart, timeZone, plan, k));
            // …on the anchor's day of month, or the month's last day when it is shorter.
            expect(end.day).toBe(Math.min(anchorLocal.day, end.daysInMonth!));
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
