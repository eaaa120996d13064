import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  accountDecider,
  type AccountEvent,
  accountStreamId,
  fold,
  type HolderVerification,
  isRegistered,
  type PurgeInProgress,
  parseInstant,
  type RegisteredSubscription,
  subscriptionDecider,
  subscriptionStreamId,
  type SubscriptionState,
} from '@app/domain';
import type { CommandContext } from '@app/command-handling';
import type { EventStore } from '@app/event-store';
import { MetricsService } from '@app/metrics';
import {
  CommandRunner,
  SEALED_EVENT_STORE,
  GenerationalKeyStore,
  KEY_STORE,
  subscriptionKeyId,
} from '@app/infrastructure';
import { HolderRegistry } from './holders/holder-registry';
import { HolderFailedError } from './holders/product-data-holder.port';
import {
  LIFECYCLE_JOB_REMOVER,
  type LifecycleJobRemover,
  READ_MODEL_SCRUBBER,
  type ReadModelScrubber,
} from './purge.ports';

export type PurgeOutcome =
  | {
      status:
        'not_registered' | 'not_expired' | 'not_due' | 'deferred_by_legal_hold' | 'already_purged';
    }
  | {
      status: 'open';
      purgeId: string;
      /** Holders that did not answer (or answered an error) this run. */
      failedHolders: string[];
      /** D11: holders that still found data of the subscription after deleting. */
      unverifiedHolders: string[];
    }
  | { status: 'purged'; purgeId: string };

/**
 * R15, D11: the purge as a process of events, each step idempotent so that a crash anywhere
 * resumes without double counting: StartPurge (guards: expired, purgeAt reached, no legal hold) →
 * one RecordHolderPurged per data holder → key shredding and read-model scrub (each store
 * compacting the pages it freed) → VerifyPurge (each holder asked what remains) → job removal →
 * CompletePurge with the receipt. A holder that fails, or still finds data, leaves the purge open
 * (the job retries it); it is never recorded as done.
 */
@Injectable()
export class PurgeProcess {
  /** Commands and reads leave personal fields sealed: nothing here reads one (no key read). */
  private readonly runner: CommandRunner;

  constructor(
    runner: CommandRunner,
    private readonly holders: HolderRegistry,
    @Inject(SEALED_EVENT_STORE) private readonly store: EventStore,
    @Inject(KEY_STORE) private readonly keys: GenerationalKeyStore,
    @Optional() @Inject(READ_MODEL_SCRUBBER) private readonly scrubber: ReadModelScrubber | null,
    @Optional() @Inject(LIFECYCLE_JOB_REMOVER) private readonly jobs: LifecycleJobRemover | null,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.runner = runner.sealed();
  }

  /** Runs (or resumes) the purge; every outcome is counted in purges_total{outcome}. */
  async run(subscriptionId: string, context: CommandContext): Promise<PurgeOutcome> {
    const outcome = await this.step(subscriptionId, context);
    this.metrics?.recordPurge(outcome.status);
    return outcome;
  }

  private async step(subscriptionId: string, context: CommandContext): Promise<PurgeOutcome> {
    const streamId = subscriptionStreamId(subscriptionId);
    const before = await this.load(subscriptionId);
    if (!before) return { status: 'not_registered' };
    if (before.status === 'purged') return { status: 'already_purged' };
    if (before.status !== 'expired') return { status: 'not_expired' };

    const purgeId =
      before.purge?.purgeId ?? `purge-${subscriptionId}-${parseInstant(before.purgeAt).toMillis()}`;
    const started = await this.runner.run(
      streamId,
      subscriptionDecider,
      {
        type: 'StartPurge',
        data: {
          subscriptionId,
          purgeId,
          holders: this.holders.holdersFor(before.productId).map((h) => h.name),
          legalHold: await this.legalHold(before.accountId),
          now: this.runner.now(),
        },
      },
      stepContext(context, 'start'),
    );
    const state = started.state;
    if (!isRegistered(state) || state.status !== 'expired') return { status: 'not_expired' };
    if (!state.purge) return { status: state.purgeDeferred ? 'deferred_by_legal_hold' : 'not_due' };

    const failedHolders: string[] = [];
    for (const name of state.purge.holders) {
      if (state.purge.done.some((r) => r.holder === name)) continue;
      const holder = this.holders.holder(state.productId, name);
      try {
        if (!holder) throw new HolderFailedError(name, 'is no longer configured');
        const receipt = await holder.purge({
          purgeId: state.purge.purgeId,
          subscriptionId,
          accountId: state.accountId,
          productId: state.productId,
          idempotencyKey: `${state.purge.purgeId}-${name}`,
        });
        await this.runner.run(
          streamId,
          subscriptionDecider,
          {
            type: 'RecordHolderPurged',
            data: { subscriptionId, purgeId: state.purge.purgeId, receipt, now: this.runner.now() },
          },
          stepContext(context, `holder-${name}`),
        );
      } catch (error) {
        if (!(error instanceof HolderFailedError)) throw error;
        failedHolders.push(name);
      }
    }
    if (failedHolders.length > 0)
      return { status: 'open', purgeId: state.purge.purgeId, failedHolders, unverifiedHolders: [] };

    // Product data is deleted; now the personal data: shred the key, scrub the read models. Before
    // the verification, so that a holder keeping the purge open does not keep personal data too.
    const keyId = subscriptionKeyId(subscriptionId);
    // The base id is listed even when a resumed purge finds it already shredded.
    const keysShredded = [
      ...new Set([keyId, ...(await this.keys.destroyAllGenerations(keyId, state.accountId))]),
    ];
    const rowsScrubbed = (await this.scrubber?.scrubSubscription(subscriptionId)) ?? 0;

    if (!state.purge.verification) {
      const open = await this.verify({ ...state, purge: state.purge }, started.revision, context);
      if (open) return open;
    }
    // Only now: an open purge keeps its job, which retries it.
    const jobsRemoved = (await this.jobs?.removeJobsOf(subscriptionId)) ?? 0;
    await this.runner.run(
      streamId,
      subscriptionDecider,
      {
        type: 'CompletePurge',
        data: {
          subscriptionId,
          purgeId: state.purge.purgeId,
          keysShredded,
          readModelRowsScrubbed: rowsScrubbed,
          jobsRemoved,
          now: this.runner.now(),
        },
      },
      stepContext(context, 'complete'),
    );
    return { status: 'purged', purgeId: state.purge.purgeId };
  }

  /**
   * D11: asks every holder what remains. A holder that still finds data is sent its purge request
   * again under a new idempotency key (a holder answering a repeated key from its cache would
   * delete nothing) and asked once more; what it then still finds is recorded
   * (PurgeVerificationFailed) and keeps the purge open, also when another holder did not answer.
   * A holder that does not answer keeps it open too, unrecorded, like a holder that does not
   * answer the purge request. Null: verified.
   */
  private async verify(
    state: Extract<SubscriptionState, { status: 'expired' }> & { purge: PurgeInProgress },
    revision: number,
    context: CommandContext,
  ): Promise<Extract<PurgeOutcome, { status: 'open' }> | null> {
    const { subscriptionId, accountId, productId, purge } = state;
    const verifications: HolderVerification[] = [];
    const failedHolders: string[] = [];
    for (const name of purge.holders) {
      const holder = this.holders.holder(productId, name);
      const request = {
        purgeId: purge.purgeId,
        subscriptionId,
        accountId,
        productId,
        idempotencyKey: `${purge.purgeId}-${name}`,
      };
      try {
        if (!holder) throw new HolderFailedError(name, 'is no longer configured');
        let answer = await holder.verify(request);
        if (answer.remainingItems > 0) {
          // A key of its own per attempt: a retry with an unchanged finding writes nothing, so no
          // state of the stream would tell two attempts apart.
          await holder.purge({
            ...request,
            idempotencyKey: `${request.idempotencyKey}-again-${randomUUID()}`,
          });
          answer = await holder.verify(request);
        }
        verifications.push(answer);
      } catch (error) {
        if (!(error instanceof HolderFailedError)) throw error;
        failedHolders.push(name);
        this.metrics?.recordPurgeVerificationFailure(name, 'no_answer');
      }
    }
    const unverifiedHolders = verifications
      .filter((v) => v.remainingItems > 0)
      .map((v) => v.holder);
    for (const holder of unverifiedHolders)
      this.metrics?.recordPurgeVerificationFailure(holder, 'data_remains');
    // The step's key names the stream's revision and the answers: a retry that finds something
    // else is a new command, not a replay of the earlier finding.
    const finding = verifications.map((v) => `${v.holder}:${v.remainingItems}`).join(',');
    // Recorded once every holder answered, or sooner when one still finds data (whatever the
    // others did): that finding is in the log even while another holder is down.
    if (failedHolders.length === 0 || unverifiedHolders.length > 0)
      await this.runner.run(
        subscriptionStreamId(subscriptionId),
        subscriptionDecider,
        {
          type: 'VerifyPurge',
          data: { subscriptionId, purgeId: purge.purgeId, verifications, now: this.runner.now() },
        },
        stepContext(context, `verify@${revision}(${finding})`),
      );
    if (failedHolders.length === 0 && unverifiedHolders.length === 0) return null;
    return { status: 'open', purgeId: purge.purgeId, failedHolders, unverifiedHolders };
  }

  private async load(subscriptionId: string): Promise<RegisteredSubscription | null> {
    const events = await this.store.readStream(subscriptionStreamId(subscriptionId), {
      requiresLeader: true,
    });
    const state = fold(
      subscriptionDecider,
      events.map((e) => ({ type: e.type, data: e.data })) as never,
    );
    return isRegistered(state) ? state : null;
  }

  private async legalHold(accountId: string): Promise<boolean> {
    const events = await this.store.readStream(accountStreamId(accountId), {
      requiresLeader: true,
    });
    return (
      fold(
        accountDecider,
        events.map((e) => ({ type: e.type, data: e.data }) as AccountEvent),
      ).legalHold !== null
    );
  }
}

/**
 * Each step of the purge is its own command: with one idempotency key for all of them, every step
 * after the first would be answered as a replay of the first and write nothing.
 */
function stepContext(context: CommandContext, step: string): CommandContext {
  return context.commandId === null
    ? context
    : { ...context, commandId: `${context.commandId}#${step}` };
}
