import fc from 'fast-check';
import { DateTime } from 'luxon';
import { PRODUCT_IDS } from '../../catalogue/product-catalogue';
import { purgeDateFor, termBoundary } from '../../calendar/term-calendar';
import { subscriptionDecider } from '../../deciders';
import { cancellationRefusals } from '../cancellation-policy';
import { DomainError } from '../../kernel/domain-error';
import { fold } from '../../kernel/decider';
import { isBefore, toInstant } from '../../kernel/time';
import { type Actor, type CustomerChannel, sameMoney } from '../../kernel/actor';
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

type Make = (now: string, state: SubscriptionState) => SubscriptionCommand;
type Step = { advanceMs: number; make: Make };
/** Names a step's command maker, so that a counterexample reads as commands, not as source. */
const named = (name: string, make: Make): Make =>
  Object.assign(make, { [fc.toStringMethod]: () => name });
const receipt = {
  holder: 'local',
  itemsDeleted: 1,
  bytesDeleted: 1,
  contentHash: 'h',
  location: 'l',
  externalReceiptId: null,
};
const termEnd = named('ProcessTermEnd', (now) => ({
  type: 'ProcessTermEnd',
  data: { subscriptionId: SUB, now },
}));

/** Steps whose customer commands come from `actors`. */
const stepsBy = (actors: fc.Arbitrary<Actor>): fc.Arbitrary<Step> =>
  fc.record({
    advanceMs: fc.oneof(
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 0, max: 120 * 24 * 3600 * 1000 }),
    ),
    make: fc.oneof(
      fc.tuple(actors, channelArb, fc.boolean()).map(([requestedBy, channel, verified]) =>
        named(
          `RequestCancellation(${requestedBy.role}, ${channel}${verified ? ', verified' : ''})`,
          (now) => ({
            type: 'RequestCancellation',
            data: {
              subscriptionId: SUB,
              requestedBy,
              channel,
              now,
              verification: verified
                ? { billingAdminEmail: 'a@b.it', paymentLast4: '4242', billingAddress: 'Via X' }
                : null,
            },
          }),
        ),
      ),
      actors.map((requestedBy) =>
        named(`WithdrawCancellation(${requestedBy.role})`, (now) => ({
          type: 'WithdrawCancellation',
          data: { subscriptionId: SUB, requestedBy, channel: 'self_service', now },
        })),
      ),
      fc.constant(termEnd),
      fc.constant(termEnd),
      actors.map((requestedBy) =>
        named(`ReactivateSubscription(${requestedBy.role})`, (now) => ({
          type: 'ReactivateSubscription',
          data: { subscriptionId: SUB, requestedBy, channel: 'support', now },
        })),
      ),
      fc.boolean().map((legalHold) =>
        named(`StartPurge(p${legalHold ? ', legal hold' : ''})`, (now) => ({
          type: 'StartPurge',
          data: { subscriptionId: SUB, purgeId: 'p', holders: ['local'], legalHold, now },
        })),
      ),
      fc.constant(
        named('RecordHolderPurged(local)', (now, state) => ({
          type: 'RecordHolderPurged',
          data: {
            subscriptionId: SUB,
            purgeId: state.status === 'expired' && state.purge ? state.purge.purgeId : 'p',
            receipt,
            now,
          },
        })),
      ),
      fc
        .record({
          amount: fc.option(fc.constantFrom('0.00', '0', '12.50', '12.5', '99.00'), {
            nil: undefined,
          }),
          licences: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
        })
        .map(({ amount, licences }) =>
          named(`UpdateBillingFacts(${amount ?? '-'}, ${licences ?? '-'})`, (now) => ({
            type: 'UpdateBillingFacts',
            data: {
              subscriptionId: SUB,
              requestedBy: null,
              channel: 'system',
              now,
              ...(amount === undefined ? {} : { outstandingBalance: { amount, currency: 'EUR' } }),
              ...(licences === undefined ? {} : { assignedLicences: licences }),
            },
          })),
        ),
      fc.integer({ min: 0, max: 2 }).map((remainingItems) =>
        named(`VerifyPurge(local: ${remainingItems} left)`, (now, state) => ({
          type: 'VerifyPurge',
          data: {
            subscriptionId: SUB,
            purgeId: state.status === 'expired' && state.purge ? state.purge.purgeId : 'p',
            verifications: [
              { holder: 'local', remainingItems, method: 'marker_scan', externalReceiptId: null },
            ],
            now,
          },
        })),
      ),
      fc.constant(
        named('CompletePurge(p)', (now) => ({
          type: 'CompletePurge',
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
    ),
  });
const stepArb = stepsBy(actorArb);

interface Run {
  /** Per decided command: state before, the command, the events, the state after. */
  steps: {
    before: SubscriptionState;
    command: SubscriptionCommand;
    events: SubscriptionEvent[];
    /** `before` with the command's events applied by evolve (`before` when it threw). */
    after: SubscriptionState;
    error?: DomainError;
  }[];
}

type Registration = typeof registrationArb extends fc.Arbitrary<infer R> ? R : never;

/** The state `events` lead to from `state`, one evolve at a time (what the command side folds). */
const applied = (state: SubscriptionState, events: readonly SubscriptionEvent[]) =>
  events.reduce(subscriptionDecider.evolve, state);

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
      run.steps.push({ before, command, events, after: applied(before, events) });
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      run.steps.push({ before, command, events: [], after: before, error: e });
    }
  }
  return run;
}

const historyArb = fc.tuple(registrationArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }));
/**
 * A step that picks the command the state would take (a billing admin's cancellation, withdrawal
 * or reactivation, the next purge step), so that commands which take effect, and their repeats,
 * are common among the random ones.
 */
const admin: Actor = { actorId: 'usr_billing_admin', role: 'billing_admin' };
const directedStepArb: fc.Arbitrary<Step> = fc.record({
  advanceMs: fc.integer({ min: 0, max: 40 * 24 * 3600 * 1000 }),
  // `undo`: withdraw a pending cancellation, reactivate an expired subscription, cancel online.
  make: fc.boolean().map((undo) =>
    named(`next step for the state${undo ? ' (undo)' : ''}`, (now, state) => {
      const subscriptionId = SUB;
      switch (state.status) {
        case 'active':
          // Online half the time: that is refused for contracts and some products (R7, R8).
          return {
            type: 'RequestCancellation',
            data: undo
              ? { subscriptionId, requestedBy: admin, channel: 'self_service', now }
              : {
                  subscriptionId,
                  requestedBy: admin,
                  channel: 'support',
                  verification: {
                    billingAdminEmail: 'a@b.it',
                    paymentLast4: '4242',
                    billingAddress: 'X',
                  },
                  now,
                },
          };
        case 'cancellation_pending':
          return undo
            ? {
                type: 'WithdrawCancellation',
                data: { subscriptionId, requestedBy: admin, channel: 'self_service', now },
              }
            : termEnd(now, state);
        case 'expired':
          if (!state.purge)
            return undo
              ? {
                  type: 'ReactivateSubscription',
                  data: { subscriptionId, requestedBy: admin, channel: 'support', now },
                }
              : {
                  type: 'StartPurge',
                  data: { subscriptionId, purgeId: 'p', holders: ['local'], legalHold: false, now },
                };
          if (state.purge.done.length === 0)
            return {
              type: 'RecordHolderPurged',
              data: { subscriptionId, purgeId: state.purge.purgeId, receipt, now },
            };
          if (!state.purge.verification)
            return {
              type: 'VerifyPurge',
              data: {
                subscriptionId,
                purgeId: state.purge.purgeId,
                verifications: [
                  {
                    holder: 'local',
                    remainingItems: undo ? 1 : 0, // sometimes data is still found
                    method: 'marker_scan',
                    externalReceiptId: null,
                  },
                ],
                now,
              },
            };
          return {
            type: 'CompletePurge',
            data: {
              subscriptionId,
              purgeId: state.purge.purgeId,
              keysShredded: [],
              readModelRowsScrubbed: 0,
              jobsRemoved: 0,
              now,
            },
          };
        default:
          return termEnd(now, state);
      }
    }),
  ),
});
const effectiveHistoryArb = fc.tuple(
  // Three in four paid and with nothing outstanding: cancellations and reactivations go through.
  fc
    .tuple(registrationArb, fc.nat(3))
    .map(([r, k]): Registration =>
      k === 0
        ? r
        : { ...r, balance: '0.00', plan: r.plan.kind === 'trial' ? { kind: 'monthly' } : r.plan },
    ),
  fc.array(fc.oneof({ weight: 1, arbitrary: stepArb }, { weight: 2, arbitrary: directedStepArb }), {
    minLength: 1,
    maxLength: 40,
  }),
);

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

  it('D11: random histories never complete a purge that every holder has not verified as empty', () => {
    let completed = 0;
    let found = 0;
    fc.assert(
      fc.property(effectiveHistoryArb, ([reg, steps]) => {
        for (const s of runHistory(reg, steps).steps)
          for (const e of s.events) {
            if (e.type === 'PurgeVerificationFailed') found++;
            if (e.type !== 'ProductDataPurged') continue;
            completed++;
            const b = s.before;
            if (b.status !== 'expired' || !b.purge) throw new Error('purged without a purge');
            expect(b.purge.verification?.holders.map((v) => v.holder)).toEqual(b.purge.holders);
            expect(b.purge.verification?.holders.every((v) => v.remainingItems === 0)).toBe(true);
            expect(e.data.receipt.verification).toEqual(b.purge.verification);
          }
      }),
      { numRuns: 500 },
    );
    // Both cases are reached: completions, and findings of data left that held a purge open.
    expect(completed).toBeGreaterThan(0);
    expect(found).toBeGreaterThan(0);
  });

  it('D6/R13: a refusal or a repeated command never changes the state', () => {
    // Measured from the state before the command to that state with the command's events applied
    // (evolve), never from a state to itself. A rejected command (DomainError) is left out: it
    // returns no events, so nothing is written and there is no state change to look at.
    let refusals = 0;
    /** Per command type: repeats of a command that took effect (wrote more than a refusal). */
    const repeated: Partial<Record<SubscriptionCommand['type'], number>> = {};
    fc.assert(
      fc.property(effectiveHistoryArb, ([reg, steps]) => {
        for (const s of runHistory(reg, steps).steps) {
          if (s.error) continue;
          const tookEffect = s.events.some((e) => e.type !== 'CancellationRefused');
          // D6: a refusal is recorded for the audit trail and changes nothing.
          if (!tookEffect && s.events.length > 0) {
            refusals++;
            expect(applied(s.before, s.events)).toEqual(s.before);
          }
          // R13 and the idempotent jobs (D3, D5): the same command again, at the same instant, on
          // the state it left, writes nothing but a refusal and leaves that state as it was. Not
          // for a renewal: a term-end job that moved one term may move the next one when that is
          // over too (catch-up, one term per job), which is no repeat.
          if (s.events.some((e) => e.type === 'SubscriptionRenewed')) continue;
          if (tookEffect) repeated[s.command.type] = (repeated[s.command.type] ?? 0) + 1;
          let again: SubscriptionEvent[];
          try {
            again = subscriptionDecider.decide(s.command, s.after);
          } catch (e) {
            if (!(e instanceof DomainError)) throw e;
            continue; // refused outright (a second reactivation): nothing is written
          }
          expect(again.filter((e) => e.type !== 'CancellationRefused')).toEqual([]);
          expect(applied(s.after, again)).toEqual(s.after);
        }
      }),
      { numRuns: 1000 },
    );
    // The generator must reach each case, or the property proves nothing about it (per 1,000 runs,
    // about 1,200 refusals and 9 to 900 repeats of each command type; CompletePurge is the
    // rarest, behind a purge verification that finds data left half the time).
    expect(refusals).toBeGreaterThan(100);
    const commands: SubscriptionCommand['type'][] = [
      'RequestCancellation',
      'WithdrawCancellation',
      'ProcessTermEnd',
      'ReactivateSubscription',
      'StartPurge',
      'RecordHolderPurged',
      'VerifyPurge',
      'CompletePurge',
    ];
    expect(commands.filter((type) => (repeated[type] ?? 0) < 5)).toEqual([]);
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
