import {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
} from '../event-store.port';

/**
 * Turns an old event shape into the current one on read (events are facts: the log is never
 * rewritten). Return the event unchanged when it does not apply. Must be pure and cheap.
 */
export type Upcaster = (event: RecordedEvent) => RecordedEvent;

/** Applies the upcasters in order: each sees the previous one's output. */
export const composeUpcasters =
  (upcasters: readonly Upcaster[]): Upcaster =>
  (event) =>
    upcasters.reduce((e, up) => up(e), event);

/**
 * Applies upcasters to everything read. Put it outermost (around EncryptingEventStore), so
 * upcasters see decrypted data and ciphertexts keep the event type they were bound to.
 * Positions, revisions and ids are kept from the stored event whatever the upcaster returns:
 * consumers checkpoint on them.
 */
export class UpcastingEventStore implements EventStore {
  private readonly upcast: Upcaster;

  constructor(
    private readonly inner: EventStore,
    upcasters: readonly Upcaster[],
  ) {
    this.upcast = composeUpcasters(upcasters);
  }

  appendToStream(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    return this.inner.appendToStream(streamId, events, options);
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return (await this.inner.readStream(streamId, options)).map((e) => this.apply(e));
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return (await this.inner.readAll(options)).map((e) => this.apply(e));
  }

  headPosition(): Promise<bigint | null> {
    return this.inner.headPosition();
  }

  waitForAppend(after: bigint | null, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.inner.waitForAppend(after, timeoutMs, signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private apply(stored: RecordedEvent): RecordedEvent {
    const e = this.upcast(stored);
    return {
      ...e,
      eventId: stored.eventId,
      streamId: stored.streamId,
      revision: stored.revision,
      position: stored.position,
    };
  }
}
