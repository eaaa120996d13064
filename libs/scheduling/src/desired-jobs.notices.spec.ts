import {
  fold,
  type SubscriptionCommand,
  subscriptionDecider,
  type SubscriptionEvent,
  type SubscriptionState,
} from '@app/domain';
import { desiredJobs, NO_HOLD } from './desired-jobs';
import { daysBeforeOfNoticeJobId, dueMsOfJobId, purgeNoticeJobId } from './job-ids';
import { kindOfJobId } from './lifecycle-queues';
import { registration } from '../../domain/src/testing/subscription.fixtures';

// Monthly plan in Rome from 31 January 2026, cancelled, expired at 28 February 00:00 local:
// purgeAt 29 May 00:00 (CEST); notices at 29 April 00:00 and 22 May 00:00 local.
const FEB_28 = '2026-02-27T23:00:00.000Z';
const PURGE_AT = '2026-05-28T22:00:00.000Z';
const NOTICE_30 = '2026-04-28T22:00:00.000Z';
const NOTICE_7 = '2026-05-21T22:00:00.000Z';
const ms = (iso: string) => Date.parse(iso);
const actor = { actorId: 'usr_1', role: 'billing_admin' as const };

function eventsAfter(...commands: SubscriptionCommand[]): SubscriptionEvent[] {
  const events: SubscriptionEvent[] = [];
  for (const c of commands)
    events.push(...subscriptionDecider.decide(c, fold(subscriptionDecider, events)));
  return events;
}
const register = {
  type: 'RegisterSubscription',
  data: registration({ now: '2026-02-10T09:00:00.000Z' }),
} as SubscriptionCommand;
const cancel = {
  type: 'RequestCancellation',
  data: {
    subscriptionId: 'sub_1',
    requestedBy: actor,
    channel: 'self_service',
    now: '2026-02-11T09:00:00.000Z',
  },
} as SubscriptionCommand;
const termEnd = { type: 'ProcessTermEnd', data: { subscriptionId: 'sub_1', now: FEB_28 } } as const;
const notice = (daysBefore: number, now: string) =>
  ({
    type: 'IssuePurgeNotice',
    data: { subscriptionId: 'sub_1', daysBefore, now },
  }) as SubscriptionCommand;
const reactivate = {
  type: 'ReactivateSubscription',
  data: {
    subscriptionId: 'sub_1',
    requestedBy: actor,
    channel: 'self_service',
    now: '2026-03-10T09:00:00.000Z',
  },
} as SubscriptionCommand;
const startPurge = (legalHold: boolean) =>
  ({
    type: 'StartPurge',
    data: { subscriptionId: 'sub_1', purgeId: 'p1', holders: ['local'], legalHold, now: PURGE_AT },
  }) as SubscriptionCommand;

const state = (...commands: SubscriptionCommand[]): SubscriptionState =>
  fold(subscriptionDecider, eventsAfter(...commands));
const notices = (s: SubscriptionState, days: readonly number[] = [30, 7], account = NO_HOLD) =>
  desiredJobs(s, account, days)
    .filter((j) => j.kind === 'purge-notice')
    .map((j) => [j.jobId, j.data.dueAt]);

describe('desiredJobs: purge notices (D7)', () => {
  it('D7: none while active or pending; once expired, the first notice at purgeAt − 30 days', () => {
    expect(notices(state(register))).toEqual([]);
    expect(notices(state(register, cancel))).toEqual([]);
    const expired = state(register, cancel, termEnd);
    expect(notices(expired)).toEqual([[`purge-notice-sub_1-30-${ms(NOTICE_30)}`, NOTICE_30]]);
    // Beside the purge job, on a queue of its own.
    expect(desiredJobs(expired, NO_HOLD, [30, 7]).map((j) => j.kind)).toEqual([
      'purge',
      'purge-notice',
    ]);
  });

  it('D7: one at a time: after the 30-day notice the 7-day one, after that none', () => {
    const noticed = state(register, cancel, termEnd, notice(30, NOTICE_30));
    expect(notices(noticed)).toEqual([[`purge-notice-sub_1-7-${ms(NOTICE_7)}`, NOTICE_7]]);
    expect(
      notices(state(register, cancel, termEnd, notice(30, NOTICE_30), notice(7, NOTICE_7))),
    ).toEqual([]);
  });

  it('D7: the offsets are configuration: other days, other jobs; none configured, none', () => {
    const expired = state(register, cancel, termEnd);
    expect(notices(expired, [14])).toEqual([
      [`purge-notice-sub_1-14-${ms('2026-05-14T22:00:00.000Z')}`, '2026-05-14T22:00:00.000Z'],
    ]);
    expect(notices(expired, [])).toEqual([]);
  });

  it('D7: a reactivation leaves no notice job (the scheduler removes the one it had)', () => {
    expect(notices(state(register, cancel, termEnd, reactivate))).toEqual([]);
  });

  it('D7: a legal hold does not stop them; a deferred or started purge leaves none', () => {
    const expired = state(register, cancel, termEnd);
    expect(notices(expired, [30, 7], { legalHold: true, lastReleasedAt: null })).toEqual([
      [`purge-notice-sub_1-30-${ms(NOTICE_30)}`, NOTICE_30],
    ]);
    expect(notices(state(register, cancel, termEnd, startPurge(true)))).toEqual([]);
    expect(notices(state(register, cancel, termEnd, startPurge(false)))).toEqual([]);
  });

  it('D7: deterministic ids: offset and due time in the id, read back; the kind from the id', () => {
    const id = purgeNoticeJobId('sub_1', 30, ms(NOTICE_30));
    expect(id).toBe(`purge-notice-sub_1-30-${ms(NOTICE_30)}`);
    expect(purgeNoticeJobId('sub_1', 30, ms(NOTICE_30))).toBe(id);
    expect(daysBeforeOfNoticeJobId(id)).toBe(30);
    expect(dueMsOfJobId(id)).toBe(ms(NOTICE_30));
    expect(daysBeforeOfNoticeJobId(purgeNoticeJobId('sub-7-1', 7, 5))).toBe(7);
    expect(daysBeforeOfNoticeJobId(`purge-sub_1-${ms(PURGE_AT)}`)).toBeNull();
    expect(kindOfJobId(id)).toBe('purge-notice');
    expect(kindOfJobId(`purge-sub_1-${ms(PURGE_AT)}`)).toBe('purge');
    expect(kindOfJobId(`term-end-sub_1-${ms(FEB_28)}`)).toBe('term-end');
    expect(id).not.toMatch(/:/);
  });
});
