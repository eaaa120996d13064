import {
  type AccountEvent,
  accountDecider,
  fold,
  type SubscriptionCommand,
  subscriptionDecider,
  type SubscriptionEvent,
  type SubscriptionState,
} from '@app/domain';
import {
  accountHoldView,
  desiredJobs,
  NO_HOLD,
  needsAccountView,
  OPEN_PURGE_RETRY_MS,
  supersededButKept,
} from './desired-jobs';

const FEB_28 = '2026-02-27T23:00:00.000Z';
const MAR_31 = '2026-03-30T22:00:00.000Z';
const PURGE_AT = '2026-05-28T22:00:00.000Z';
const ms = (iso: string) => Date.parse(iso);
const actor = { actorId: 'usr_1', role: 'billing_admin' as const };

/** Runs commands through the real decider and returns the folded state. */
function stateAfter(...commands: SubscriptionCommand[]): SubscriptionState {
  const events: SubscriptionEvent[] = [];
  for (const c of commands)
    events.push(...subscriptionDecider.decide(c, fold(subscriptionDecider, events)));
  return fold(subscriptionDecider, events);
}

const register = (o: Partial<{ autoRenew: boolean; plan: object; termStart: string }> = {}) =>
  ({
    type: 'RegisterSubscription',
    data: {
      subscriptionId: 'sub_1',
      accountId: 'acc_1',
      productId: 'goto-meeting',
      plan: { kind: 'monthly' },
      termStart: '2026-01-31T00:00:00+01:00',
      timeZone: 'Europe/Rome',
      contract: false,
      autoRenew: true,
      now: '2026-02-10T09:00:00.000Z',
      ...o,
    },
  }) as SubscriptionCommand;
const cancel = {
  type: 'RequestCancellation',
  data: {
    subscriptionId: 'sub_1',
    requestedBy: actor,
    channel: 'support',
    verification: { billingAdminEmail: 'a@example.com', paymentLast4: '4242', billingAddress: 'x' },
    now: '2026-02-11T09:00:00.000Z',
  },
} as SubscriptionCommand;
const termEnd = (now: string) =>
  ({ type: 'ProcessTermEnd', data: { subscriptionId: 'sub_1', now } }) as SubscriptionCommand;
const startPurge = (legalHold: boolean, now = PURGE_AT) =>
  ({
    type: 'StartPurge',
    data: { subscriptionId: 'sub_1', purgeId: 'p1', holders: ['local'], legalHold, now },
  }) as SubscriptionCommand;
// Term ends and purges; the D7 notices (no offsets here) are in desired-jobs.notices.spec.ts.
const ids = (state: SubscriptionState, account = NO_HOLD) =>
  desiredJobs(state, account, []).map((j) => [j.kind, j.jobId, j.data.dueAt]);

describe('desiredJobs: the jobs a folded state calls for', () => {
  it('R14: an active subscription has one term-end job at its term end', () => {
    expect(ids(stateAfter(register()))).toEqual([
      ['term-end', `term-end-sub_1-${ms(FEB_28)}`, FEB_28],
    ]);
  });

  it('R14: after a renewal the job moves to the new term end (anchored calendar)', () => {
    expect(ids(stateAfter(register(), termEnd(FEB_28)))).toEqual([
      ['term-end', `term-end-sub_1-${ms(MAR_31)}`, MAR_31],
    ]);
  });

  it('R2/R14: a pending cancellation keeps one term-end job, at expiresAt', () => {
    expect(ids(stateAfter(register(), cancel))).toEqual([
      ['term-end', `term-end-sub_1-${ms(FEB_28)}`, FEB_28],
    ]);
  });

  it('R15: an expired subscription has only its purge job, at purgeAt', () => {
    const expired = stateAfter(register(), cancel, termEnd(FEB_28));
    expect(ids(expired)).toEqual([['purge', `purge-sub_1-${ms(PURGE_AT)}`, PURGE_AT]]);
    expect(needsAccountView(expired)).toBe(false);
  });

  it('D8: a termination moves the term-end job to effectiveAt, a revocation moves it back; the purge follows 90 days on', () => {
    const effectiveAt = '2026-02-19T23:00:00.000Z';
    const terminate = {
      type: 'ScheduleTermination',
      data: {
        subscriptionId: 'sub_1',
        requestedBy: { actorId: 'svc_billing', role: 'user' },
        reason: 'payment_failed',
        effective: effectiveAt,
        now: '2026-02-11T09:00:00.000Z',
      },
    } as SubscriptionCommand;
    const revoke = {
      type: 'RevokeTermination',
      data: {
        subscriptionId: 'sub_1',
        requestedBy: { actorId: 'svc_billing', role: 'user' },
        now: '2026-02-12T09:00:00.000Z',
      },
    } as SubscriptionCommand;
    expect(ids(stateAfter(register(), terminate))).toEqual([
      ['term-end', `term-end-sub_1-${ms(effectiveAt)}`, effectiveAt],
    ]);
    expect(ids(stateAfter(register(), terminate, revoke))).toEqual([
      ['term-end', `term-end-sub_1-${ms(FEB_28)}`, FEB_28],
    ]);
    const purgeAt = '2026-05-20T22:00:00.000Z'; // May 21, 00:00 in Rome
    expect(ids(stateAfter(register(), terminate, termEnd(effectiveAt)))).toEqual([
      ['purge', `purge-sub_1-${ms(purgeAt)}`, purgeAt],
    ]);
  });

  it('R11: a trial has its term-end job at the end of the trial', () => {
    const trial = stateAfter(
      register({
        plan: { kind: 'trial', trialDays: 14 },
        autoRenew: false,
        termStart: '2026-02-05T00:00:00+01:00',
      }),
    );
    expect(ids(trial)).toEqual([
      ['term-end', `term-end-sub_1-${ms('2026-02-18T23:00:00.000Z')}`, '2026-02-18T23:00:00.000Z'],
    ]);
  });

  it('D3: a purge deferred by a legal hold has no job while the hold lasts, and one at the release after', () => {
    const deferred = stateAfter(register(), cancel, termEnd(FEB_28), startPurge(true));
    expect(needsAccountView(deferred)).toBe(true);
    const placed: AccountEvent = {
      type: 'LegalHoldPlaced',
      data: { accountId: 'acc_1', holdId: 'h1', placedAt: FEB_28, requestedBy: actor, reason: 'x' },
    };
    const released: AccountEvent = {
      type: 'LegalHoldReleased',
      data: {
        accountId: 'acc_1',
        holdId: 'h1',
        releasedAt: '2026-06-15T08:00:00.000Z',
        requestedBy: actor,
        reason: 'y',
      },
    };
    expect(ids(deferred, accountHoldView([placed]))).toEqual([]);
    expect(ids(deferred, accountHoldView([placed, released]))).toEqual([
      ['purge', `purge-sub_1-${ms('2026-06-15T08:00:00.000Z')}`, '2026-06-15T08:00:00.000Z'],
    ]);
    // Released no later than the purge date: due right after it, never under the first job's id.
    const early = { ...released, data: { ...released.data, releasedAt: PURGE_AT } } as AccountEvent;
    expect(ids(deferred, accountHoldView([placed, early]))).toEqual([
      ['purge', `purge-sub_1-${ms(PURGE_AT) + 1}`, '2026-05-28T22:00:00.001Z'],
    ]);
    expect(fold(accountDecider, [placed, released]).legalHold).toBeNull();
  });

  it('R15/D11: an open purge keeps one job of its own, an hour after it started, until it completes', () => {
    const open = stateAfter(register(), cancel, termEnd(FEB_28), startPurge(false));
    const retryAt = ms(PURGE_AT) + OPEN_PURGE_RETRY_MS;
    expect(ids(open)).toEqual([
      ['purge', `purge-sub_1-${retryAt}`, new Date(retryAt).toISOString()],
    ]);
  });

  it("R15/D11: the job that started a purge is not removed for the open purge's own job (its worker may have died mid-purge: it goes on at once)", () => {
    const expired = stateAfter(register(), cancel, termEnd(FEB_28));
    const open = stateAfter(register(), cancel, termEnd(FEB_28), startPurge(false));
    // The purge job as the expiry derived it, superseded by the open purge's job: kept.
    const starter = desiredJobs(expired).find((j) => j.kind === 'purge')!;
    expect(desiredJobs(open).map((j) => j.jobId)).not.toContain(starter.jobId);
    expect(supersededButKept(starter.kind, desiredJobs(open))).toBe(true);
    // Superseded by no purge job at all (reactivated, purged): removed.
    const active = stateAfter(register());
    expect(supersededButKept('purge', desiredJobs(active))).toBe(false);
    // Other kinds are superseded as before.
    expect(supersededButKept('purge-notice', desiredJobs(open))).toBe(false);
    expect(supersededButKept('term-end', desiredJobs(open))).toBe(false);
  });

  it('an unregistered stream calls for nothing', () => {
    expect(ids(subscriptionDecider.initialState())).toEqual([]);
  });
});
