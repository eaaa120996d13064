import type { EventActor, EventStore } from '@app/event-store';
import { projectedStream, streamFold } from '@app/read-models';

export type StreamKind = 'subscription' | 'account' | 'other';

export interface InspectedEvent {
  position: string;
  revision: number;
  eventId: string;
  type: string;
  recordedAt: string;
  actor: EventActor | null;
  channel: string | null;
  correlationId: string;
  causationId: string | null;
  commandId: string | null;
  /** As the store returns it: personal fields decrypted while their key exists, else "[erased]". */
  data: Record<string, unknown>;
  /** The state folded after this event (null for a stream kind without a decider). */
  state: unknown;
}

export interface StreamInspection {
  streamId: string;
  kind: StreamKind;
  /** Events up to `asOf` (all when null), each with the state after it. */
  events: InspectedEvent[];
  /** Events recorded after `asOf` (not folded into `state`). */
  laterEvents: number;
  asOf: string | null;
  /** The state after the last listed event (the initial state when none). */
  state: unknown;
}

export const streamKindOf = (streamId: string): StreamKind =>
  projectedStream(streamId)?.kind ?? 'other';

/**
 * Every event of one stream with the state folded after it (the read models' own fold), optionally
 * only up to an instant: the state "as of" that date. Null when the stream does not exist.
 */
export async function inspectStream(
  store: EventStore,
  streamId: string,
  options: { asOf?: Date | null } = {},
): Promise<StreamInspection | null> {
  const all = await store.readStream(streamId);
  if (all.length === 0) return null;
  const kind = streamKindOf(streamId);
  const fold = kind === 'other' ? null : streamFold(kind);
  const asOfMs = options.asOf ? options.asOf.getTime() : null;
  let state: unknown = fold?.state() ?? null;
  const events: InspectedEvent[] = [];
  let laterEvents = 0;
  for (const e of all) {
    if (asOfMs !== null && Date.parse(e.metadata.recordedAt) > asOfMs) {
      laterEvents++;
      continue;
    }
    if (fold) state = fold.apply(e);
    events.push({
      position: e.position.toString(),
      revision: e.revision,
      eventId: e.eventId,
      type: e.type,
      recordedAt: e.metadata.recordedAt,
      actor: e.metadata.actor,
      channel: e.metadata.channel,
      correlationId: e.metadata.correlationId,
      causationId: e.metadata.causationId,
      commandId: e.metadata.commandId,
      data: e.data,
      state,
    });
  }
  return {
    streamId,
    kind,
    events,
    laterEvents,
    asOf: options.asOf ? options.asOf.toISOString() : null,
    state,
  };
}
