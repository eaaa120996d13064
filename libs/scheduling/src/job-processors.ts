import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { CommandContext, HandleResult } from '@app/command-handling';
import {
  type AccountEvent,
  accountStreamId,
  type Decider,
  DomainError,
  fold,
  isRegistered,
  nextTermEndDue,
  type SubscriptionCommand,
  subscriptionDecider,
  type SubscriptionEvent,
  type SubscriptionState,
  subscriptionStreamId,
  SYSTEM_ACTOR,
} from '@app/domain';
import type { EventStore } from '@app/event-store';
import { accountHoldView, type AccountHoldView, desiredJobs, NO_HOLD } from './desired-jobs';
import { epochMs } from './instants';
import type { LifecycleJobKind } from './job-ids';
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
  | 'purge-started'
  | 'purge-deferred'
  /** The bound purge process ran the purge to its end. */
  | 'purged'
  /** This job had already written its events (a duplicate delivery): nothing new. */
  | 'replayed'
  /** Fired before its due time: nothing written, moved back to the delayed set. */
  | 'early'
  /** The state moved on (renewed, withdrawn, reactivated, held, purged): nothing to do. */
  | 'stale';

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

function outcomeOf(result: HandleResult<SubscriptionState>): JobResult {
  const types = result.events.map((e) => e.type);
  if (result.replayed) return { outcome: 'replayed', events: types };
  const outcome: JobOutcome = types.includes('SubscriptionExpired')
    ? 'expired'
    : types.includes('SubscriptionRenewed')
      ? 'renewed'
      : types.includes('PurgeStarted')
        ? 'purge-started'
        : 'purge-deferred';
  return { outcome, events: types };
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
): Promise<JobResult> {
  const wanted = desiredJobs(state, account).find((j) => j.kind === kind);
  if (!wanted || wanted.jobId !== job.id || wanted.dueMs <= nowMs)
    return { outcome: 'stale', events: [] };
  await job.moveToDelayed(Date.now() + (wanted.dueMs - nowMs), token);
  throw new DelayedError(`fired ${wanted.dueMs - nowMs} ms early; delayed again`);
}

/**
 * Term-end job → ProcessTermEnd (renew or expire, R14/R9/R11/R18). No business rule here: the
 * decider decides from the stream. The one check added is that the job is still the one for the
 * state's next term end, made inside the command's read-decide-append loop so that a job for a
 * term already processed (delivered again after the clock moved past the next term end) cannot
 * move the subscription one more term.
 */
export class TermEndProcessor {
  constructor(private readonly runner: CommandRunnerPort) {}

  async process(job: Job<LifecycleJobData>, token?: string): Promise<JobResult> {
    const { subscriptionId, dueAt } = job.data;
    const dueMs = ms(dueAt);
    const now = this.runner.now();
    let result: HandleResult<SubscriptionState>;
    try {
      result = await this.runner.run(
        subscriptionStreamId(subscriptionId),
        forTermEndDue(dueMs),
        { type: 'ProcessTermEnd', data: { subscriptionId, now } },
        systemContext(job.id!),
      );
    } catch (error) {
      throw toJobError(error);
    }
    if (result.events.length > 0) return outcomeOf(result);
    return rescheduleIfEarly(job, token, 'term-end', result.state, NO_HOLD, ms(now));
  }
}

function forTermEndDue(
  dueMs: number,
): Decider<SubscriptionCommand, SubscriptionEvent, SubscriptionState> {
  return {
    ...subscriptionDecider,
    decide(command, state) {
      if (state.status !== 'unregistered') {
        const due = nextTermEndDue(state);
        if (due === null || ms(due) !== dueMs) return [];
      }
      return subscriptionDecider.decide(command, state);
    },
  };
}

/** Which data holders a product's purge goes through; the purge issue registers real ones. */
export type PurgeHolders = (productId: string) => string[];

/**
 * The purge process (issue: purge), when one is bound (token PURGE_RUNNER): the purge job then
 * hands the whole purge to it instead of only starting it. `run` resolves with `{ status }`;
 * `open` (a data holder failed) makes the job retry with backoff. The context it gets has no
 * command id (a multi-step process must not be answered as a replay of its first step); the
 * steps are idempotent through the decider.
 */
export interface PurgeRunnerPort {
  run(subscriptionId: string, context: CommandContext): Promise<{ status: string }>;
}
export const PURGE_RUNNER = Symbol.for('app.scheduling.PurgeRunner');

/**
 * Purge job → StartPurge at purgeAt (R15), with the account's legal hold folded from the account
 * stream (D3: the decider defers under a hold). It only dispatches the command: what a purge does
 * (data holders, key shredding, receipts, ProductDataPurged) belongs to the purge process, which
 * takes over from PurgeStarted. Never early (the decider refuses before purgeAt; the job is
 * rescheduled), never twice (the job id is the command id and the purge id).
 */
export class PurgeProcessor {
  constructor(
    private readonly runner: CommandRunnerPort,
    private readonly store: EventStore,
    private readonly holders: PurgeHolders = () => [],
    private readonly delegate: PurgeRunnerPort | null = null,
  ) {}

  async process(job: Job<LifecycleJobData>, token?: string): Promise<JobResult> {
    const { subscriptionId, accountId } = job.data;
    let account: AccountHoldView;
    let result: HandleResult<SubscriptionState>;
    const now = this.runner.now();
    try {
      const accountEvents = await this.store.readStream(accountStreamId(accountId));
      account = accountHoldView(
        accountEvents.map((e) => ({ type: e.type, data: e.data }) as unknown as AccountEvent),
      );
      if (this.delegate) return await this.delegated(job, token, account, now);
      result = await this.runner.run(
        subscriptionStreamId(subscriptionId),
        withHolders(this.holders),
        {
          type: 'StartPurge',
          data: {
            subscriptionId,
            purgeId: job.id!,
            holders: [],
            legalHold: account.legalHold,
            now,
          },
        },
        systemContext(job.id!),
      );
    } catch (error) {
      throw toJobError(error);
    }
    if (result.events.length > 0) return outcomeOf(result);
    return rescheduleIfEarly(job, token, 'purge', result.state, account, ms(now));
  }

  private async delegated(
    job: Job<LifecycleJobData>,
    token: string | undefined,
    account: AccountHoldView,
    now: string,
  ): Promise<JobResult> {
    const { subscriptionId } = job.data;
    const outcome: { status?: unknown } | undefined = await this.delegate!.run(subscriptionId, {
      ...systemContext(job.id!),
      commandId: null,
    });
    const status = typeof outcome?.status === 'string' ? outcome.status : 'unknown';
    if (status === 'open')
      throw new Error(`the purge of ${subscriptionId} is open (a data holder failed); retrying`);
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

function withHolders(
  holders: PurgeHolders,
): Decider<SubscriptionCommand, SubscriptionEvent, SubscriptionState> {
  return {
    ...subscriptionDecider,
    decide(command, state) {
      if (command.type !== 'StartPurge' || !isRegistered(state))
        return subscriptionDecider.decide(command, state);
      return subscriptionDecider.decide(
        { ...command, data: { ...command.data, holders: holders(state.productId) } },
        state,
      );
    },
  };
}
