import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { CommandContext, HandleResult } from '@app/command-handling';
import {
  type AccountEvent,
  accountStreamId,
  type Decider,
  DEFAULT_PURGE_NOTICE_DAYS,
  DomainError,
  fold,
  subscriptionDecider,
  type SubscriptionEvent,
  type SubscriptionState,
  subscriptionStreamId,
  SYSTEM_ACTOR,
} from '@app/domain';
import type { EventStore } from '@app/event-store';
import { accountHoldView, type AccountHoldView, desiredJobs, NO_HOLD } from './desired-jobs';
import { epochMs } from './instants';
import { daysBeforeOfNoticeJobId, type LifecycleJobKind } from './job-ids';
import type { LifecycleJobData } from './queues';

/** What a processor needs of the command side: CommandRunner (libs/infrastructure) fits. */
export interface CommandRunnerPort {
  run<C, E extends { type: string; data: object }, S>(
    streamId: string,
    decider: Decider<C, E, S>,
    command: C,
    context: CommandContext,
  ): Promise<HandleResult<S>>;
  /** The injected clock's reading as a domain instant. */
  now(): string;
}

export type JobOutcome =
  | 'renewed'
  | 'expired'
  /** The purge is deferred by the account's legal hold (D3). */
  | 'purge-deferred'
  /** The bound purge process ran the purge to its end. */
  | 'purged'
  /** This job had already written its events (a duplicate delivery): nothing new. */
  | 'replayed'
  /** Fired before its due time: nothing written, moved back to the delayed set. */
  | 'early'
  /** The state moved on (renewed, withdrawn, reactivated, held, purged): nothing to do. */
  | 'stale'
  /** D7: a purge notice was issued (PurgeNoticeIssued). */
  | 'notice-issued';

export interface JobResult {
  readonly outcome: JobOutcome;
  readonly events: readonly string[];
}

/** Prefix of the failure reason of a domain refusal (kept visible, never retried). */
export const DOMAIN_REFUSAL = 'DOMAIN_REFUSAL';

/**
 * Metadata of the events a job writes. The command id is derived from the job id, so a job that
 * runs again after it wrote its events (stalled, killed after the append, delivered twice) is
 * answered from the log by handleCommand instead of deciding again.
 */
export function systemContext(jobId: string): CommandContext {
  return {
    commandId: `scheduler/${jobId}`,
    requestHash: null,
    correlationId: `job-${jobId}`,
    causationId: null,
    actor: { ...SYSTEM_ACTOR },
    channel: 'system',
  };
}

/** Domain refusals fail the job for good (visible, not retried); anything else is retried. */
export function toJobError(error: unknown): unknown {
  if (error instanceof DomainError)
    return new UnrecoverableError(`${DOMAIN_REFUSAL} ${error.code}: ${error.message}`);
  return error;
}

const ms = epochMs;

function termEndOutcome(result: HandleResult<SubscriptionState>): JobResult {
  const types = result.events.map((e) => e.type);
  if (result.replayed) return { outcome: 'replayed', events: types };
  return { outcome: types.includes('SubscriptionExpired') ? 'expired' : 'renewed', events: types };
}

/**
 * After a run that wrote nothing: if this very job is still the one the state calls for and its
 * due time is ahead of the clock, it fired early (clock skew, manual promotion) and goes back to
 * the delayed set with the remaining delay (D5); otherwise it is stale and simply completes.
 */
async function rescheduleIfEarly(
  job: Job<LifecycleJobData>,
  token: string | undefined,
  kind: LifecycleJobKind,
  state: SubscriptionState,
  account: AccountHoldView,
  nowMs: number,
  noticeDays: readonly number[] = DEFAULT_PURGE_NOTICE_DAYS,
): Promise<JobResult> {
  const wanted = desiredJobs(state, account, noticeDays).find((j) => j.kind === kind);
  if (!wanted || wanted.jobId !== job.id || wanted.dueMs <= nowMs)
    return { outcome: 'stale', events: [] };
  await job.moveToDelayed(Date.now() + (wanted.dueMs - nowMs), token);
  throw new DelayedError(`fired ${wanted.dueMs - nowMs} ms early; delayed again`);
}

/**
 * Term-end job → ProcessTermEnd (renew or expire, R14/R9/R11/R18) for the job's term end. No
 * business rule here: the decider decides from the stream, the job guard included (a job for a
 * term already processed, delivered again after the clock moved past the next term end, must not
 * move the subscription one more term: the command names its term end, `dueAt`, and the decider
 * applies it only while that is still the state's next one).
 */
export class TermEndProcessor {
  constructor(private readonly runner: CommandRunnerPort) {}

  async process(job: Job<LifecycleJobData>, token?: string): Promise<JobResult> {
    const { subscriptionId, dueAt } = job.data;
    const now = this.runner.now();
    let result: HandleResult<SubscriptionState>;
    try {
      result = await this.runner.run(
        subscriptionStreamId(subscriptionId),
        subscriptionDecider,
        { type: 'ProcessTermEnd', data: { subscriptionId, now, dueAt } },
        systemContext(job.id!),
      );
    } catch (error) {
      throw toJobError(error);
    }
    if (result.events.length > 0) return termEndOutcome(result);
    return rescheduleIfEarly(job, token, 'term-end', result.state, NO_HOLD, ms(now));
  }
}

/**
 * The purge process (libs/purge, bound under PURGE_RUNNER): the purge job hands the whole purge
 * to it. `run` resolves with `{ status }`; `open` (a data holder failed) makes the job retry with
 * backoff. The context it gets has no command id (a multi-step process must not be answered as a
 * replay of its first step); the steps are idempotent through the decider.
 */
export interface PurgeRunnerPort {
  run(subscriptionId: string, context: CommandContext): Promise<{ status: string }>;
}
export const PURGE_RUNNER = Symbol.for('app.scheduling.PurgeRunner');

/** Stands in when no purge process is bound: a purge job then fails and is retried. */
export const NO_PURGE_RUNNER: PurgeRunnerPort = {
  run: (subscriptionId) =>
    Promise.reject(
      new Error(`no purge process is bound in this process; the purge of ${subscriptionId} waits`),
    ),
};

/**
 * Purge job → the purge process at purgeAt (R15). What a purge does (StartPurge with the
 * product's data holders and the account's legal hold, D3; the holders; key shredding; receipts)
 * belongs to the process. Never early (the decider refuses before purgeAt; the job is
 * rescheduled), never twice (the steps are idempotent through the decider).
 */
export class PurgeProcessor {
  constructor(
    private readonly runner: Pick<CommandRunnerPort, 'now'>,
    private readonly store: EventStore,
    private readonly purge: PurgeRunnerPort,
  ) {}

  async process(job: Job<LifecycleJobData>, token?: string): Promise<JobResult> {
    try {
      return await this.purgeNow(job, token);
    } catch (error) {
      throw toJobError(error);
    }
  }

  private async purgeNow(
    job: Job<LifecycleJobData>,
    token: string | undefined,
  ): Promise<JobResult> {
    const { subscriptionId, accountId } = job.data;
    const now = this.runner.now();
    const accountEvents = await this.store.readStream(accountStreamId(accountId));
    const account = accountHoldView(
      accountEvents.map((e) => ({ type: e.type, data: e.data }) as unknown as AccountEvent),
    );
    const outcome: { status?: unknown } | undefined = await this.purge.run(subscriptionId, {
      ...systemContext(job.id!),
      commandId: null,
    });
    const status = typeof outcome?.status === 'string' ? outcome.status : 'unknown';
    if (status === 'open')
      throw new Error(
        `the purge of ${subscriptionId} is open (a data holder failed, or still holds data); retrying`,
      );
    if (status === 'purged') return { outcome: 'purged', events: [] };
    if (status === 'deferred_by_legal_hold') return { outcome: 'purge-deferred', events: [] };
    const recorded = await this.store.readStream(subscriptionStreamId(subscriptionId));
    const state = fold(
      subscriptionDecider,
      recorded.map((e) => ({ type: e.type, data: e.data }) as unknown as SubscriptionEvent),
    );
    return rescheduleIfEarly(job, token, 'purge', state, account, ms(now));
  }
}

/**
 * Purge-notice job → IssuePurgeNotice (D7) for the offset its id names, at the notice instant it
 * was scheduled for (`dueAt`). As for term ends, no rule here: the decider decides from the
 * stream (never early, never twice, none once reactivated, deferred or purging); an early job
 * goes back to the delayed set, a stale one completes without effect.
 */
export class PurgeNoticeProcessor {
  constructor(
    private readonly runner: CommandRunnerPort,
    private readonly noticeDays: readonly number[] = DEFAULT_PURGE_NOTICE_DAYS,
  ) {}

  async process(job: Job<LifecycleJobData>, token?: string): Promise<JobResult> {
    const { subscriptionId, dueAt } = job.data;
    const daysBefore = daysBeforeOfNoticeJobId(job.id ?? '');
    if (daysBefore === null)
      throw new UnrecoverableError(
        `${DOMAIN_REFUSAL} VALIDATION_FAILED: not a purge-notice job id: ${job.id}`,
      );
    const now = this.runner.now();
    let result: HandleResult<SubscriptionState>;
    try {
      result = await this.runner.run(
        subscriptionStreamId(subscriptionId),
        subscriptionDecider,
        { type: 'IssuePurgeNotice', data: { subscriptionId, daysBefore, now, dueAt } },
        systemContext(job.id!),
      );
    } catch (error) {
      throw toJobError(error);
    }
    const types = result.events.map((e) => e.type);
    if (result.events.length > 0)
      return { outcome: result.replayed ? 'replayed' : 'notice-issued', events: types };
    return rescheduleIfEarly(
      job,
      token,
      'purge-notice',
      result.state,
      NO_HOLD,
      ms(now),
      this.noticeDays,
    );
  }
}
