import type {
  AllStreamResolvedEvent,
  KurrentDBClient,
  ReadPosition,
} from '@kurrent/kurrentdb-client';
import {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  WrongExpectedRevisionError,
} from '../event-store.port';
import { validateAppend } from '../expected-revision';
import { acquireNotifier, AppendNotifier, waitForHead } from '../append-notifier';
import {
  isClientError,
  isSystemEvent,
  positionOf,
  toActualRevision,
  toRecorded,
  toStreamState,
} from './kurrentdb-mapping';
import { newEventId } from '../event-id';

type KurrentLib = typeof import('@kurrent/kurrentdb-client');
let lib: KurrentLib | undefined;
/**
 * The client is loaded on first use, not when @app/event-store is imported: it pulls in a native
 * add-on and ~0.4 s of start-up that processes using only SQLite should not pay.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kurrent = (): KurrentLib => (lib ??= require('@kurrent/kurrentdb-client') as KurrentLib);

export interface KurrentDbEventStoreOptions {
  /** How often waitForAppend polls the head of $all for appends made by other clients. */
  pollIntervalMs?: number;
  /** Events fetched per $all request (system events included, filtered out here). */
  readAllPageSize?: number;
}

/**
 * The production event log on KurrentDB / EventStoreDB. The server enforces expected revisions
 * and orders $all; positions are commit positions (bigint). System events (`$` streams/types)
 * are filtered out of readAll, headPosition and waitForAppend, client-side: a page of raw $all is
 * unambiguous about where the log ends, which a server-side filter's page is not.
 * Reading $all needs a user allowed to (admins by default on secure clusters).
 *
 * Not run on these machines: no KurrentDB server can be started here (no Docker); the contract
 * suite runs against it when EVENTSTORE_URL is set.
 */
export class KurrentDbEventStore implements EventStore {
  private readonly notifier: AppendNotifier;
  private readonly releaseNotifier: () => void;
  private closed = false;

  static connect(
    connectionString: string,
    options: KurrentDbEventStoreOptions = {},
  ): KurrentDbEventStore {
    const client = kurrent().KurrentDBClient.connectionString(connectionString);
    return new KurrentDbEventStore(client, connectionString, options);
  }

  constructor(
    private readonly client: KurrentDBClient,
    /** Identifies the log for in-process wake-ups (the connection string is fine). */
    logKey: string,
    private readonly options: KurrentDbEventStoreOptions = {},
  ) {
    const shared = acquireNotifier(`kurrentdb:${logKey}`);
    this.notifier = shared.notifier;
    this.releaseNotifier = shared.release;
  }

  async appendToStream(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    this.assertOpen();
    validateAppend(streamId, events, options.expectedRevision);
    const payload = events.map((e) =>
      kurrent().jsonEvent({
        // KurrentDB needs UUID ids; it also uses them to make retried appends idempotent.
        id: e.eventId ?? newEventId(),
        type: e.type,
        data: e.data,
        metadata: { ...e.metadata },
      }),
    );
    let result;
    try {
      result = await this.client.appendToStream(streamId, payload, {
        streamState: toStreamState(options.expectedRevision),
        requiresLeader: true,
      });
    } catch (err) {
      if (isClientError(err, 'wrong-expected-version')) {
        throw new WrongExpectedRevisionError(
          streamId,
          options.expectedRevision,
          toActualRevision((err as { actualState?: unknown }).actualState),
        );
      }
      throw err;
    }
    // Only when the connection string sets throwOnAppendFailure=false.
    if (!result.success) {
      throw new WrongExpectedRevisionError(
        streamId,
        options.expectedRevision,
        toActualRevision(result.nextExpectedRevision),
      );
    }
    const nextRevision = Number(result.nextExpectedRevision);
    const position =
      result.position?.commit ?? (await this.positionOfRevision(streamId, nextRevision));
    this.notifier.notify(position);
    return { nextRevision, position };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    if (options.maxCount !== undefined && options.maxCount <= 0) return [];
    const out: RecordedEvent[] = [];
    try {
      const events = this.client.readStream(streamId, {
        direction: 'forwards',
        fromRevision: options.fromRevision ? BigInt(options.fromRevision) : 'start',
        ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
        requiresLeader: options.requiresLeader ?? false,
      });
      for await (const resolved of events) {
        if (resolved.event) out.push(toRecorded(resolved.event, resolved.commitPosition));
      }
    } catch (err) {
      if (isClientError(err, 'stream-not-found')) return [];
      throw err;
    }
    return out;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const want = options.maxCount ?? Number.POSITIVE_INFINITY;
    if (want <= 0) return [];
    const pageSize = this.options.readAllPageSize ?? 500;
    const out: RecordedEvent[] = [];
    // The cursor is the last raw $all position seen (system events included). fromPosition is
    // inclusive, so everything at or before the cursor is skipped.
    let cursor = options.after;
    for (;;) {
      const from: ReadPosition =
        cursor === undefined ? 'start' : { commit: cursor, prepare: cursor };
      const page = await collect(
        this.client.readAll({ direction: 'forwards', fromPosition: from, maxCount: pageSize }),
      );
      let fresh = 0;
      for (const resolved of page) {
        const ev = resolved.event;
        if (!ev) continue;
        const position = positionOf(ev, resolved.commitPosition);
        if (cursor !== undefined && position <= cursor) continue;
        cursor = position;
        fresh++;
        if (isSystemEvent(ev)) continue;
        out.push(toRecorded(ev, resolved.commitPosition));
        if (out.length >= want) return out;
      }
      // A short page is the end of the log; a page with nothing new means we would loop forever.
      if (page.length < pageSize || fresh === 0) return out;
    }
  }

  async headPosition(): Promise<bigint | null> {
    this.assertOpen();
    // Backwards from the end, skipping system events (the server writes stats every few
    // seconds). Each next page starts at the oldest event seen; anything at or after it is a
    // repeat (whether the server treats a backwards fromPosition as inclusive or not).
    let before: bigint | undefined;
    for (;;) {
      const from: ReadPosition = before === undefined ? 'end' : { commit: before, prepare: before };
      const page = await collect(
        this.client.readAll({ direction: 'backwards', fromPosition: from, maxCount: 100 }),
      );
      let fresh = 0;
      for (const resolved of page) {
        const ev = resolved.event;
        if (!ev) continue;
        const position = positionOf(ev, resolved.commitPosition);
        if (before !== undefined && position >= before) continue;
        if (!isSystemEvent(ev)) return position;
        before = position;
        fresh++;
      }
      if (page.length < 100 || fresh === 0) return null;
    }
  }

  async waitForAppend(
    after: bigint | null,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    this.assertOpen();
    return waitForHead({
      notifier: this.notifier,
      readHead: () => (this.closed ? null : this.headPosition()),
      after,
      timeoutMs,
      pollIntervalMs: this.options.pollIntervalMs ?? 250,
      ...(signal ? { signal } : {}),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.releaseNotifier();
    // Without dispose the gRPC channel keeps the process (and jest) alive.
    await this.client.dispose();
  }

  /** Fallback when the append result carries no position: read the event just written. */
  private async positionOfRevision(streamId: string, revision: number): Promise<bigint> {
    const [e] = await this.readStream(streamId, {
      fromRevision: revision,
      maxCount: 1,
      requiresLeader: true,
    });
    return e?.position ?? -1n;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('KurrentDbEventStore is closed');
  }
}

async function collect(
  it: AsyncIterable<AllStreamResolvedEvent>,
): Promise<AllStreamResolvedEvent[]> {
  const out: AllStreamResolvedEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}
