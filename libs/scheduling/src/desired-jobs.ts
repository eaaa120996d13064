import {
  type AccountEvent,
  accountDecider,
  DEFAULT_PURGE_NOTICE_DAYS,
  fold,
  isRegistered,
  nextTermEndDue,
  plannedPurgeNotices,
  type SubscriptionState,
} from '@app/domain';
import { epochMs } from './instants';
import { lifecycleJobId, type LifecycleJobKind, purgeNoticeJobId } from './job-ids';
import type { DesiredJob } from './queues';

/** What the purge schedule needs to know about the account (D3). */
export interface AccountHoldView {
  readonly legalHold: boolean;
  /** When the last legal hold was released (null: never). */
  readonly lastReleasedAt: string | null;
}

export const NO_HOLD: AccountHoldView = Object.freeze({ legalHold: false, lastReleasedAt: null });

/** Folds an account stream (`account-<id>`) into what the purge schedule needs. */
export function accountHoldView(events: readonly AccountEvent[]): AccountHoldView {
  const state = fold(accountDecider, events);
  let lastReleasedAt: string | null = null;
  for (const e of events) if (e.type === 'LegalHoldReleased') lastReleasedAt = e.data.releasedAt;
  return { legalHold: state.legalHold !== null, lastReleasedAt };
}

/**
 * Only an expired subscription whose purge was deferred by a legal hold depends on its account:
 * the caller reads the account stream for those alone.
 */
export function needsAccountView(state: SubscriptionState): boolean {
  return state.status === 'expired' && state.purge === null && state.purgeDeferred;
}

/** How long after its start an open purge gets a job of its own (see desiredJobs). */
export const OPEN_PURGE_RETRY_MS = 60 * 60 * 1000;

/**
 * The lifecycle jobs a subscription's folded state calls for, right now. Pure: the scheduler and
 * the reconciler both use it, so what is scheduled is always a function of the log.
 *
 * - A term-end job at `nextTermEndDue(state)` (registered, active, pending, trial): it renews or
 *   expires the subscription (R14, R9, R11). None once expired or purged.
 * - A purge job at `purgeAt` once expired (R15), unless it was deferred by a legal hold (D3). A
 *   deferred purge gets its job again when the account has no hold any more, due at once: at the
 *   release (or just after `purgeAt`, whichever is later).
 * - An open purge (started, not completed: a holder failing or still finding data, D11) keeps one
 *   job, OPEN_PURGE_RETRY_MS after it started, under an id of its own: it retries the purge with
 *   backoff, and the reconciler retries it whenever it fails, until the purge completes. The job
 *   that started the purge is not removed for it (`supersededButKept`): if its worker died
 *   mid-purge it runs again at once and goes on.
 * - D7: while expired and heading for its purge (not started, not deferred), the next purge
 *   notice still to issue (`plannedPurgeNotices` with the configured offsets, `noticeDays`), one
 *   at a time: when it is issued the state calls for the next one. A hold does not stop them; a
 *   reactivation, a deferral or the purge's start leaves none, and the scheduler removes it.
 */
/**
 * Whether a job the derivation no longer names stays in Redis all the same: a purge job, while
 * the subscription still calls for a purge job (an open purge's own, an hour on). The job that
 * started the purge may be waiting to run again, its worker killed mid-purge: removed, the purge
 * would wait that hour. Run late, a purge job finds the purge done (stale) or goes on with it.
 */
export function supersededButKept(
  kind: LifecycleJobKind,
  wanted: readonly { kind: LifecycleJobKind }[],
): boolean {
  return kind === 'purge' && wanted.some((j) => j.kind === 'purge');
}

export function desiredJobs(
  state: SubscriptionState,
  account: AccountHoldView = NO_HOLD,
  noticeDays: readonly number[] = DEFAULT_PURGE_NOTICE_DAYS,
): DesiredJob[] {
  if (!isRegistered(state)) return [];
  const job = (kind: LifecycleJobKind, dueMs: number, jobId?: string): DesiredJob => ({
    kind,
    jobId: jobId ?? lifecycleJobId(kind, state.subscriptionId, dueMs),
    dueMs,
    data: {
      subscriptionId: state.subscriptionId,
      accountId: state.accountId,
      dueAt: new Date(dueMs).toISOString(),
    },
  });
  const jobs: DesiredJob[] = [];
  const termEnd = nextTermEndDue(state);
  if (termEnd !== null) jobs.push(job('term-end', epochMs(termEnd)));
  if (state.status === 'expired' && state.purge !== null)
    jobs.push(job('purge', epochMs(state.purge.startedAt) + OPEN_PURGE_RETRY_MS));
  if (state.status === 'expired' && state.purge === null) {
    const purgeAt = epochMs(state.purgeAt);
    if (!state.purgeDeferred) jobs.push(job('purge', purgeAt));
    else if (!account.legalHold) {
      // Due at the release, and never under the first purge job's id (purgeAt): that job's command
      // id already answered with PurgeDeferred, so a job under it would be a replay.
      const released = account.lastReleasedAt === null ? 0 : epochMs(account.lastReleasedAt);
      jobs.push(job('purge', Math.max(purgeAt + 1, released)));
    }
  }
  if (state.status === 'expired') {
    const next = plannedPurgeNotices(state, noticeDays).find((n) => n.issuedAt === null);
    if (next) {
      const dueMs = epochMs(next.noticeAt);
      jobs.push(
        job('purge-notice', dueMs, purgeNoticeJobId(state.subscriptionId, next.daysBefore, dueMs)),
      );
    }
  }
  return jobs;
}
