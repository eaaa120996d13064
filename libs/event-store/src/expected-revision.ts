import { ExpectedRevision, NewEvent, WrongExpectedRevisionError } from './event-store.port';

/**
 * Checks an append's expectation against the stream's current last revision (null = no stream).
 * Shared by adapters that enforce it themselves (SQLite); KurrentDB enforces it server-side.
 */
export function checkExpectedRevision(
  streamId: string,
  expected: ExpectedRevision,
  current: number | null,
): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === null) ||
    (expected === 'stream_exists' && current !== null) ||
    (typeof expected === 'number' && current === expected);
  if (!ok) throw new WrongExpectedRevisionError(streamId, expected, current ?? 'no_stream');
}

/** Argument checks every adapter applies before touching storage, so they all fail the same way. */
export function validateAppend(
  streamId: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
): void {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new TypeError('appendToStream: streamId must be a non-empty string');
  }
  // Callers may be untyped JS; a local keeps the NewEvent type (Array.isArray narrows to any[]).
  const list: readonly NewEvent[] = events;
  if (!Array.isArray(list) || events.length === 0) {
    throw new TypeError(`appendToStream(${streamId}): an append needs at least one event`);
  }
  if (typeof expected === 'number' && (!Number.isSafeInteger(expected) || expected < 0)) {
    throw new TypeError(
      `appendToStream(${streamId}): expected revision must be an integer >= 0, got ${expected}`,
    );
  }
  if (
    typeof expected !== 'number' &&
    expected !== 'any' &&
    expected !== 'no_stream' &&
    expected !== 'stream_exists'
  ) {
    throw new TypeError(
      `appendToStream(${streamId}): unknown expected revision ${String(expected)}`,
    );
  }
  for (const e of events) {
    if (typeof e.type !== 'string' || e.type.length === 0) {
      throw new TypeError(`appendToStream(${streamId}): every event needs a type`);
    }
    if (e.data === null || typeof e.data !== 'object' || Array.isArray(e.data)) {
      throw new TypeError(`appendToStream(${streamId}): event ${e.type} data must be an object`);
    }
  }
}
