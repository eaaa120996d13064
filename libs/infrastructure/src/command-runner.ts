import { Inject, Injectable, Optional } from '@nestjs/common';
import { type Decider, recordedRefusal } from '@app/domain';
import type { EventStore } from '@app/event-store';
import { MetricsService } from '@app/metrics';
import type { Clock } from '@app/platform';
import { type CommandContext, handleCommand, type HandleResult } from '@app/command-handling';
import type { IdempotencyKeys } from './shared-state/idempotency-keys';
import { CLOCK, EVENT_STORE, IDEMPOTENCY_KEYS, SEALED_EVENT_STORE } from './tokens';

/**
 * A command whose data is the outcome of work done first (an erasure records the keys it shredded
 * and the rows it scrubbed). The runner prepares it once the idempotency key is claimed, so that
 * a key reused for another stream or request is refused before that work is done.
 */
export class PreparedCommand<C> {
  constructor(
    /** The command's type, for the metrics (the command exists only once prepared). */
    readonly type: string,
    readonly prepare: () => Promise<C>,
  ) {}
}

/**
 * The one way to run a command: every command handler, the purge process and the lifecycle's
 * jobs call it. It claims a client's idempotency key, runs handleCommand with the app's event
 * store and clock, and counts the outcome.
 */
@Injectable()
export class CommandRunner {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() private readonly metrics?: MetricsService,
    @Optional() @Inject(IDEMPOTENCY_KEYS) private readonly keys?: IdempotencyKeys,
    @Optional() @Inject(SEALED_EVENT_STORE) private readonly sealedStore?: EventStore,
  ) {}

  /**
   * This runner over the store that leaves personal fields sealed on read: for commands whose
   * result nobody reads a personal field from (the lifecycle's jobs, the purge). The deciders'
   * states hold none, so they decide alike, without a key read per stream.
   */
  sealed(): CommandRunner {
    if (!this.sealedStore) return this;
    return new CommandRunner(this.sealedStore, this.clock, this.metrics, this.keys);
  }

  async run<C, E extends { type: string; data: object }, S>(
    streamId: string,
    decider: Decider<C, E, S>,
    command: C | PreparedCommand<C>,
    context: CommandContext,
  ): Promise<HandleResult<S>> {
    const started = process.hrtime.bigint();
    const prepared = command instanceof PreparedCommand ? command : null;
    const type = commandType(prepared ?? command);
    try {
      // A client's key (it comes with a request fingerprint; system commands' ids do not) is
      // bound to its first stream and request before anything runs.
      if (this.keys && context.commandId !== null && context.requestHash !== null)
        await this.keys.claim(context.commandId, streamId, context.requestHash);
      const result = await handleCommand(
        this.store,
        this.clock,
        streamId,
        decider,
        prepared ? await prepared.prepare() : (command as C),
        context,
      );
      this.metrics?.recordCommand(type, outcomeOf(result), secondsSince(started));
      return result;
    } catch (error) {
      this.metrics?.recordCommand(type, errorOutcome(error), secondsSince(started));
      throw error;
    }
  }

  /** The clock's reading as a domain instant: commands carry their time (D5). */
  now(): string {
    const iso = this.clock.now().toUTC().toISO();
    if (!iso) throw new Error('clock returned an invalid time');
    return iso;
  }
}

const secondsSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

function commandType(command: unknown): string {
  const type = (command as { type?: unknown } | null)?.type;
  return typeof type === 'string' && /^[A-Za-z0-9_.]{1,64}$/.test(type) ? type : 'unknown';
}

function outcomeOf(result: HandleResult<unknown>): string {
  if (result.replayed) return 'replayed';
  if (result.events.length === 0) return 'noop';
  // D6: a refusal by policy is written as an event and then answered with its error.
  if (recordedRefusal(result.events)) return 'refused';
  return 'written';
}

/** Error codes are a closed set (docs/http-api.md); anything else is 'error', keeping labels bounded. */
function errorOutcome(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z_]{1,40}$/.test(code) ? code : 'error';
}
