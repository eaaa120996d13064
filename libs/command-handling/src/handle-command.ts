import type { Decider } from '@app/domain';
import {
  type EventStore,
  type NewEvent,
  type RecordedEvent,
  WrongExpectedRevisionError,
  newEventId,
} from '@app/event-store';
import type { Clock } from '@app/platform';
import { toInstant } from '@app/domain';
import type { CommandContext } from './command-context';
import { ConcurrencyConflictError, IdempotencyKeyReusedError } from './command-errors';

/** An event as this command wrote it (positions of all but the last are the store's business). */
export type WrittenEvent = Omit<RecordedEvent, 'position' | 'streamId'>;

export interface HandleResult<State> {
  /** The events this command wrote, or, for a repeated idempotency key, those the first one wrote. */
  readonly events: readonly WrittenEvent[];
  /** State after the command (for a replay: the current state of the stream). */
  readonly state: State;
  /** Last revision of the stream after the command; -1 when the stream does not exist. */
  readonly revision: number;
  /** Global position of the last event written (or of the stream's last event when nothing was written). */
  readonly position: bigint | null;
  /** True when the idempotency key had been seen and nothing new was written. */
  readonly replayed: boolean;
}

export interface HandleOptions {
  /** Attempts on a version conflict before CONCURRENCY_CONFLICT (default 5). */
  readonly maxAttempts?: number;
}

type DomainEventShape = { type: string; data: object };

/**
 * The one command path: read the stream, fold it, decide, append with the expected revision.
 * A conflict means another writer got there first: re-read and decide again on the new state
 * (the decision may now differ, e.g. a second cancellation becomes a no-op). Idempotency is read
 * from the log itself (every event carries its command's key), so it survives restarts and needs
 * no second store.
 */
export async function handleCommand<Command, Event extends DomainEventShape, State>(
  store: EventStore,
  clock: Clock,
  streamId: string,
  decider: Decider<Command, Event, State>,
  command: Command,
  context: CommandContext,
  options: HandleOptions = {},
): Promise<HandleResult<State>> {
  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const recorded = await store.readStream(streamId, { requiresLeader: true });
    const history = recorded.map((e) => ({ type: e.type, data: e.data }) as unknown as Event);
    const state = history.reduce((s, e) => decider.evolve(s, e), decider.initialState());
    const revision = recorded.length - 1;
    const lastPosition = recorded.at(-1)?.position ?? null;

    if (context.commandId !== null) {
      const earlier = recorded.filter((e) => e.metadata.commandId === context.commandId);
      if (earlier.length > 0) {
        if ((earlier[0]!.metadata.requestHash ?? null) !== context.requestHash)
          throw new IdempotencyKeyReusedError(context.commandId);
        return { events: earlier, state, revision, position: lastPosition, replayed: true };
      }
    }

    const events = decider.decide(command, state);
    if (events.length === 0)
      return { events: [], state, revision, position: lastPosition, replayed: false };

    const recordedAt = toInstant(clock.now());
    const toAppend: (NewEvent & WrittenEvent)[] = events.map((e, i) => ({
      eventId: newEventId(),
      revision: revision + 1 + i,
      type: e.type,
      data: e.data as Record<string, unknown>,
      metadata: {
        correlationId: context.correlationId,
        causationId: context.causationId,
        commandId: context.commandId,
        requestHash: context.requestHash,
        actor: context.actor,
        channel: context.channel,
        recordedAt,
        schemaVersion: 1,
      },
    }));
    try {
      const result = await store.appendToStream(
        streamId,
        toAppend.map(({ revision: _r, ...e }) => e),
        {
          expectedRevision: revision < 0 ? 'no_stream' : revision,
        },
      );
      const newState = events.reduce((s, e) => decider.evolve(s, e), state);
      return {
        events: toAppend,
        state: newState,
        revision: result.nextRevision,
        position: result.position,
        replayed: false,
      };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      if (attempt >= maxAttempts) throw new ConcurrencyConflictError(streamId, attempt);
      // Jittered pause so that writers racing on one stream do not collide again in lockstep.
      await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
    }
  }
}
