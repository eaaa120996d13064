import fc from 'fast-check';
import { DateTime } from 'luxon';
import { purgeNoticeDateFor } from '../../calendar/term-calendar';
import { subscriptionDecider } from '../../deciders';
import { DomainError } from '../../kernel/domain-error';
import { fold } from '../../kernel/decider';
import { isBefore, toInstant } from '../../kernel/time';
import { billingAdmin, cancel, registered } from '../../testing/subscription.fixtures';
import { plannedPurgeNotices } from '../decide/issue-purge-notice.decide';
import type { SubscriptionCommand } from '../subscription.commands';
import type { PurgeNoticeIssued, SubscriptionEvent } from '../subscription.events';

/**
 * D7 over random histories: a subscription cancelled and expired in a random zone, then, at
 * random forward clock moves, notice jobs (right or wrong offsets and due times, repeated),
 * reactivations, new expiries, deferred and started purges in random order.
 */
const ZONES = ['Europe/Rome', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'UTC'];
const SUB = 'sub_1';
const DAY = 86_400_000;

type Make = (now: string, events: readonly SubscriptionEvent[]) => SubscriptionCommand;

const noticeArb: fc.Arbitrary<Make> = fc
  .tuple(fc.constantFrom(30, 7, 1, 45, 89), fc.boolean(), fc.integer({ min: -2, max: 2 }))
  .map(([daysBefore, withDueAt, dueShiftDays]) => (now, events) => {
    const state = fold(subscriptionDecider, events);
    const planned = plannedPurgeNotices(state, [daysBefore]).find(
      (n) => n.daysBefore === daysBefore,
    );
    const dueAt =
      withDueAt && planned
        ? toInstant(DateTime.fromISO(planned.noticeAt).plus({ days: dueShiftDays }))
        : null;
    return { type: 'IssuePurgeNotice', data: { subscriptionId: SUB, daysBefore, dueAt, now } };
  });

const otherArb: fc.Arbitrary<Make> = fc.constantFrom<Make>(
  (now) => ({ type: 'ProcessTermEnd', data: { subscriptionId: SUB, now } }),
  (now) => ({
    type: 'ReactivateSubscription',
    data: { subscriptionId: SUB, requestedBy: billingAdmin, channel: 'self_service', now },
  }),
  (now) => cancel(now),
  (now) => ({
    type: 'StartPurge',
    data: { subscriptionId: SUB, purgeId: 'p1', holders: [], legalHold: true, now },
  }),
  (now) => ({
    type: 'StartPurge',
    data: { subscriptionId: SUB, purgeId: 'p1', holders: [], legalHold: false, now },
  }),
);

const stepArb = fc.record({
  advanceMs: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 40 * DAY })),
  make: fc.oneof({ arbitrary: noticeArb, weight: 4 }, { arbitrary: otherArb, weight: 1 }),
});

describe('Purge notices over random histories (D7)', () => {
  it('D7: no notice is issued before its noticeAt, at or after its purgeAt, or twice for one purge date', () => {
    let issued = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: 0, max: 365 }),
        fc.array(stepArb, { maxLength: 30 }),
        (timeZone, startDay, steps) => {
          const termStart = toInstant(
            DateTime.fromISO('2026-01-01T09:30', { zone: timeZone }).plus({ days: startDay }),
          );
          let events: SubscriptionEvent[] = [
            registered({ termStart, timeZone, plan: { kind: 'monthly' } }),
          ];
          let nowMs = Date.parse(termStart) + DAY;
          const apply = (command: SubscriptionCommand): void => {
            try {
              const state = fold(subscriptionDecider, events);
              events = [...events, ...subscriptionDecider.decide(command, state)];
            } catch (error) {
              if (!(error instanceof DomainError)) throw error;
            }
          };
          apply(cancel(new Date(nowMs).toISOString()));
          const pending = fold(subscriptionDecider, events);
          if (pending.status === 'cancellation_pending') nowMs = Date.parse(pending.expiresAt);
          apply({
            type: 'ProcessTermEnd',
            data: { subscriptionId: SUB, now: new Date(nowMs).toISOString() },
          });
          for (const step of steps) {
            nowMs += step.advanceMs;
            apply(step.make(new Date(nowMs).toISOString(), events));
          }
          const notices = events.filter(
            (e): e is PurgeNoticeIssued => e.type === 'PurgeNoticeIssued',
          );
          issued += notices.length;
          const seen = new Set<string>();
          for (const { data: n } of notices) {
            expect(n.noticeAt).toBe(purgeNoticeDateFor(n.purgeAt, timeZone, n.daysBefore));
            expect(isBefore(n.issuedAt, n.noticeAt)).toBe(false);
            expect(isBefore(n.issuedAt, n.purgeAt)).toBe(true);
            const key = `${n.purgeAt} ${n.daysBefore}`;
            expect(seen.has(key)).toBe(false);
            seen.add(key);
          }
          // Each notice was issued while the subscription was expired and not purging.
          events.forEach((e, i) => {
            if (e.type !== 'PurgeNoticeIssued') return;
            const before = fold(subscriptionDecider, events.slice(0, i));
            expect(before).toMatchObject({ status: 'expired', purge: null, purgeDeferred: false });
          });
        },
      ),
      { numRuns: 300 },
    );
    // Not vacuous: the random histories do issue notices.
    expect(issued).toBeGreaterThan(20);
  });
});
