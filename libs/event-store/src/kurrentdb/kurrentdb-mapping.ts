import type {
  AppendStreamState,
  ErrorType,
  JSONType,
  RecordedEvent as KurrentRecordedEvent,
} from '@kurrent/kurrentdb-client';
import { EventMetadata, ExpectedRevision, RecordedEvent } from '../event-store.port';

/** Our expected revision → the client's `streamState` (revisions are bigint there). */
export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  return typeof expected === 'number' ? BigInt(expected) : expected;
}

/**
 * The server's "current revision" in a conflict: 'no_stream', or a bigint (-1 also means no
 * stream on some paths), or, from the raw gRPC metadata path, something stringly.
 */
export function toActualRevision(actual: unknown): number | 'no_stream' {
  if (actual === 'no_stream' || actual === undefined || actual === null) return 'no_stream';
  let n: bigint;
  try {
    n = BigInt(actual as bigint | string | number);
  } catch {
    return 'no_stream';
  }
  return n < 0n ? 'no_stream' : Number(n);
}

/** Errors are matched by their `type` tag as well as by class: two copies of the client may be loaded. */
export const isClientError = (err: unknown, type: `${ErrorType}`): boolean =>
  typeof err === 'object' && err !== null && (err as { type?: unknown }).type === type;

/** u64::MAX: what older servers put in positions they do not know (stream reads). */
const UNKNOWN_POSITION = 0xffff_ffff_ffff_ffffn;

/**
 * Our global position is the event's commit position. On servers since 22.6 every event carries
 * its own (commit == prepare for events appended through gRPC). Older servers give no position on
 * stream reads: -1n then (stream reads are used to decide, which needs revisions, not positions).
 */
export function positionOf(ev: KurrentRecordedEvent, commitPosition?: bigint): bigint {
  const p = ev.position?.commit ?? commitPosition;
  return p === undefined || p === UNKNOWN_POSITION ? -1n : p;
}

/** `$`-prefixed streams and event types belong to the server (stats, settings, links, metadata). */
export const isSystemEvent = (ev: KurrentRecordedEvent): boolean =>
  ev.streamId.startsWith('$') || ev.type.startsWith('$');

export function toRecorded(ev: KurrentRecordedEvent, commitPosition?: bigint): RecordedEvent {
  return {
    eventId: ev.id,
    streamId: ev.streamId,
    revision: Number(ev.revision),
    position: positionOf(ev, commitPosition),
    type: ev.type,
    data: toData(ev.isJson, ev.data),
    // Our appends always write JSON metadata; anything else came from another writer.
    metadata: (isObject(ev.metadata) ? ev.metadata : {}) as unknown as EventMetadata,
  };
}

/** Events written by other tools may be binary or non-object JSON; keep them visible, never drop. */
function toData(isJson: boolean, data: JSONType | Uint8Array): Record<string, unknown> {
  if (isJson && isObject(data)) return data;
  if (data instanceof Uint8Array) return { $binary: Buffer.from(data).toString('base64') };
  return { $value: data };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
