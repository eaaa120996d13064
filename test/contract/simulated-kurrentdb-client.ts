import type { KurrentDBClient } from '@kurrent/kurrentdb-client';

/**
 * An in-memory stand-in for the few KurrentDBClient calls the adapter makes, reproducing the
 * behaviours the adapter has to cope with: inclusive fromPosition on $all reads (both
 * directions), system events interleaved in $all, byte-offset positions with gaps, stream reads
 * that throw 'stream-not-found', conflicts thrown as 'wrong-expected-version' with a bigint or
 * 'no_stream' actualState. It is NOT a KurrentDB server and proves nothing about one: it only
 * lets the adapter's own logic (paging, filtering, error mapping) run under the contract suite.
 */
interface StoredEvent {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  data: unknown;
  metadata: unknown;
  position: { commit: bigint; prepare: bigint };
}

export class SimulatedKurrentLog {
  readonly all: StoredEvent[] = [];
  readonly streams = new Map<string, StoredEvent[]>();
  private nextPosition = 1000n;
  appends = 0;

  write(streamId: string, events: Array<{ id: string; type: string; data: unknown; metadata: unknown }>): void {
    const stream = this.streams.get(streamId) ?? [];
    this.streams.set(streamId, stream);
    for (const e of events) {
      const position = { commit: this.nextPosition, prepare: this.nextPosition };
      // Positions are byte offsets: not dense.
      this.nextPosition += 100n + BigInt(JSON.stringify(e.data).length);
      const stored = { ...e, streamId, revision: BigInt(stream.length), position };
      stream.push(stored);
      this.all.push(stored);
    }
    // The server writes its own events into $all now and then.
    if (++this.appends % 3 === 0) {
      this.write('$stats-127.0.0.1:2113', [{ id: `stats-${this.appends}`, type: '$statsCollected', data: {}, metadata: {} }]);
    }
  }

  client(): KurrentDBClient {
    return new SimulatedClient(this) as unknown as KurrentDBClient;
  }
}

const clientError = (type: string, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(type), { type, ...extra });

const resolved = (e: StoredEvent) => ({
  event: { ...e, isJson: true, created: new Date(0) },
  commitPosition: e.position.commit,
});

class SimulatedClient {
  constructor(private readonly log: SimulatedKurrentLog) {}

  async appendToStream(
    streamName: string,
    events: Array<{ id: string; type: string; data: unknown; metadata: unknown; contentType: string }>,
    options: { streamState?: 'any' | 'no_stream' | 'stream_exists' | bigint } = {},
  ) {
    await Promise.resolve();
    const stream = this.log.streams.get(streamName);
    const current = stream ? BigInt(stream.length - 1) : undefined;
    const state = options.streamState ?? 'any';
    const ok =
      state === 'any' ||
      (state === 'no_stream' && current === undefined) ||
      (state === 'stream_exists' && current !== undefined) ||
      (typeof state === 'bigint' && current === state);
    if (!ok) {
      throw clientError('wrong-expected-version', {
        streamName,
        expectedState: state,
        actualState: current ?? 'no_stream',
      });
    }
    if (events.some((e) => e.contentType !== 'application/json')) throw new Error('JSON only here');
    this.log.write(streamName, events);
    const written = this.log.streams.get(streamName)!;
    const last = written[written.length - 1]!;
    return { success: true, nextExpectedRevision: last.revision, position: last.position };
  }

  async *readStream(
    streamName: string,
    o: { fromRevision?: 'start' | bigint; maxCount?: number | bigint; direction?: string } = {},
  ) {
    await Promise.resolve();
    const stream = this.log.streams.get(streamName);
    if (!stream) throw clientError('stream-not-found', { streamName });
    if (o.direction && o.direction !== 'forwards') throw new Error('forwards only here');
    const from = o.fromRevision === undefined || o.fromRevision === 'start' ? 0 : Number(o.fromRevision);
    const max = o.maxCount === undefined ? Infinity : Number(o.maxCount);
    for (const e of stream.slice(from, from + max)) yield resolved(e);
  }

  async *readAll(
    o: {
      fromPosition?: 'start' | 'end' | { commit: bigint; prepare: bigint };
      maxCount?: number | bigint;
      direction?: 'forwards' | 'backwards';
    } = {},
  ) {
    await Promise.resolve();
    const all = this.log.all;
    const max = o.maxCount === undefined ? Infinity : Number(o.maxCount);
    const from = o.fromPosition ?? (o.direction === 'backwards' ? 'end' : 'start');
    if (o.direction === 'backwards') {
      // Inclusive, like forwards: the adapter must cope with seeing its boundary event again.
      let i = all.length - 1;
      if (typeof from === 'object') while (i >= 0 && all[i]!.position.commit > from.commit) i--;
      for (let n = 0; i >= 0 && n < max; i--, n++) yield resolved(all[i]!);
      return;
    }
    let i = 0;
    if (from === 'end') i = all.length;
    else if (typeof from === 'object') {
      let lo = 0;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (all[mid]!.position.commit < from.commit) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    for (let n = 0; i < all.length && n < max; i++, n++) yield resolved(all[i]!);
  }

  async dispose(): Promise<void> {}
}
