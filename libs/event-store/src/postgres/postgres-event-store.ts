import { DatabaseError, Pool, type PoolClient, type QueryResult } from 'pg';
import {
  AppendResult,
  EventMetadata,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  WrongExpectedRevisionError,
} from '../event-store.port';
import { checkExpectedRevision, validateAppend } from '../expected-revision';
import { acquireNotifier, AppendNotifier, waitForHead } from '../append-notifier';
import { AsyncGroupCommitQueue, Outcome } from '../group-commit';
import { newEventId } from '../event-id';
import { AppendListener } from './append-listener';
import { dedicatedClient, parsePostgresUrl } from './postgres-connection';
import {
  advisoryKey,
  EventRow,
  notifyChannel,
  SCHEMA_VERSION,
  statements,
  STREAM_REVISION_KEY,
  versionOf,
} from './postgres-event-store.sql';

export interface PostgresEventStoreOptions {
  /** Pool size (default 8). Appends use one connection at a time; the rest serve reads. */
  poolSize?: number;
  /**
   * Batch concurrent appends of the same event-loop turn into one transaction (one commit, one
   * WAL flush); each append runs in its own savepoint and fails alone. Default true.
   */
  groupCommit?: boolean;
  /**
   * Most appends per group-commit transaction (default 64: each savepoint that writes takes a
   * subtransaction id, and past 64 per transaction PostgreSQL's subxid cache overflows, which
   * slows every other session's snapshots).
   */
  maxAppendsPerCommit?: number;
  /**
   * waitForAppend's safety-net poll (default 1000 ms). Other processes' appends normally wake
   * waiters through LISTEN/NOTIFY at once; the poll only matters while that connection is down.
   */
  pollIntervalMs?: number;
}

/** Serialised at call time (see SqliteEventStore): later mutation cannot change what is written. */
interface AppendRequest {
  streamId: string;
  expectedRevision: ExpectedRevision;
  eventIds: string[];
  types: string[];
  data: string[];
  metadata: string[];
}

/**
 * The event log on PostgreSQL (EVENTSTORE_URL=postgres://…[?schema=name]), one `events` table.
 *
 * Global order without gaps: every append transaction first takes ONE transaction-scoped advisory
 * lock (a constant key derived from the schema), then draws positions from the identity sequence,
 * and keeps the lock until its commit is visible (PostgreSQL releases locks after the commit is
 * in the proc array). Positions are therefore assigned and made visible strictly in commit order,
 * so `readAll` (`WHERE position > $after ORDER BY position LIMIT $n`) can never skip an event
 * that commits later with a lower position. Rolled-back appends leave holes; that is fine.
 * Not emmett's xid8/pg_snapshot_xmin scheme (its order is a (transaction id, position) pair) nor
 * Marten's high-water mark (it skips a slow commit after a timeout): the port promises one bigint
 * position strictly increasing in commit order. The cost: appends to one schema are serialised,
 * commit (WAL flush) included; group commit makes each turn of the lock carry many appends.
 *
 * Expected revisions: checked in the append statement under that lock, and by UNIQUE
 * (stream_id, revision) in the database (a violation surfaces as WrongExpectedRevisionError).
 * Wake-ups: in-process waiters at once (AppendNotifier); other processes through NOTIFY, sent
 * by the append transaction (delivered at commit) and heard on one dedicated LISTEN connection
 * per store, opened on the first waitForAppend and reconnected with backoff; a slow poll is the
 * safety net. The schema is created on first use (see `ready`), so `connect` stays synchronous.
 */
export class PostgresEventStore implements EventStore {
  readonly schema: string;
  /** Server, database and schema, without credentials. */
  readonly location: string;
  /** Write transactions committed and appends they carried (appends / transactions = batching). */
  readonly stats = { transactions: 0, appends: 0 };
  private readonly connectionString: string;
  private readonly pool: Pool;
  private readonly sql: ReturnType<typeof statements>;
  private readonly appendLock: string;
  private readonly channel: string;
  private readonly notifier: AppendNotifier;
  private readonly releaseNotifier: () => void;
  private readonly queue: AsyncGroupCommitQueue<AppendRequest, AppendResult> | null;
  private readonly reads: AsyncGroupCommitQueue<StreamRead, RecordedEvent[]>;
  private readonly listener: AppendListener;
  /** Appends committing outside the queue (groupCommit: false), awaited by close(). */
  private readonly direct = new Set<Promise<unknown>>();
  private migrated: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  /** Synchronous: the schema is created or checked on first use. */
  static connect(url: string, options: PostgresEventStoreOptions = {}): PostgresEventStore {
    return new PostgresEventStore(url, options);
  }

  /** Connects and creates or checks the schema now (fails here when the server is unreachable). */
  static async open(
    url: string,
    options: PostgresEventStoreOptions = {},
  ): Promise<PostgresEventStore> {
    const store = new PostgresEventStore(url, options);
    try {
      await store.ready();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  private constructor(
    url: string,
    private readonly options: PostgresEventStoreOptions,
  ) {
    const where = parsePostgresUrl(url);
    this.schema = where.schema;
    this.location = where.key;
    this.connectionString = where.connectionString;
    this.sql = statements(this.schema);
    this.appendLock = advisoryKey(`event-store-append:${this.schema}`);
    this.channel = notifyChannel(this.schema);
    this.pool = new Pool({
      connectionString: this.connectionString,
      max: options.poolSize ?? 8,
      // A dead server fails requests quickly instead of queueing them for ever.
      connectionTimeoutMillis: 5000,
      // Queries are sent without waiting for the previous answer (see commitBatch).
      pipeline: true,
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
    const shared = acquireNotifier(`postgres:${this.location}`);
    this.notifier = shared.notifier;
    this.releaseNotifier = shared.release;
    this.listener = new AppendListener({
      connectionString: this.connectionString,
      channel: this.channel,
      onPosition: (p) => this.notifier.notify(p),
      onListening: () => void this.wakeAtHead(),
    });
    this.reads = new AsyncGroupCommitQueue((batch) => this.readStreams(batch), MAX_READS_TOGETHER);
    this.queue =
      options.groupCommit === false
        ? null
        : new AsyncGroupCommitQueue(
            (batch) => this.commitBatch(batch),
            options.maxAppendsPerCommit ?? 64,
            (results) => this.notifyCommitted(results),
          );
  }

  /**
   * async, but everything up to the enqueue runs synchronously at call time: appends issued in
   * one turn of the event loop land in one group commit.
   */
  async appendToStream(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    this.assertOpen();
    validateAppend(streamId, events, options.expectedRevision);
    const req: AppendRequest = {
      streamId,
      expectedRevision: options.expectedRevision,
      eventIds: events.map((e) => e.eventId ?? newEventId()),
      types: events.map((e) => e.type),
      data: events.map((e) => JSON.stringify(e.data)),
      metadata: events.map((e) => JSON.stringify(e.metadata)),
    };
    if (this.queue) return this.queue.enqueue(req);
    const committing = this.commitBatch([req]);
    this.direct.add(committing);
    try {
      const [outcome] = await committing;
      if (!outcome) throw new Error('append produced no outcome');
      if (!outcome.ok) throw outcome.error;
      this.notifyCommitted([outcome.value]);
      return outcome.value;
    } finally {
      this.direct.delete(committing);
    }
  }

  /**
   * Stream reads issued in one turn of the event loop (and those issued while the previous batch
   * is being read) are read by one statement: a query per stream read was the worker's largest
   * cost under a month-end burst (a socket write and a round trip each).
   */
  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    return this.reads.enqueue({
      streamId,
      fromRevision: options.fromRevision ?? 0,
      limit: limitOf(options.maxCount),
    });
  }

  /**
   * One statement for the batch; when it fails (one read's bad argument fails the statement), each
   * read again on its own, so that a read fails alone.
   */
  private async readStreams(reads: readonly StreamRead[]): Promise<Outcome<RecordedEvent[]>[]> {
    await this.ready();
    if (reads.length > 1) {
      const together = await settle(
        this.pool.query<EventRow & { i: string }>({
          name: 'es_read_streams',
          text: this.sql.readStreams,
          values: [
            reads.map((x) => x.streamId),
            reads.map((x) => x.fromRevision),
            reads.map((x) => x.limit),
          ],
        }),
      );
      if (together.ok) {
        const events = reads.map((): RecordedEvent[] => []);
        for (const row of together.value.rows) events[Number(row.i) - 1]!.push(toRecorded(row));
        return events.map((value) => ({ ok: true, value }));
      }
    }
    return Promise.all(
      reads.map(async (read): Promise<Outcome<RecordedEvent[]>> => {
        const r = await settle(
          this.pool.query<EventRow>({
            name: 'es_read_stream',
            text: this.sql.readStream,
            values: [read.streamId, read.fromRevision, read.limit],
          }),
        );
        return r.ok ? { ok: true, value: r.value.rows.map(toRecorded) } : r;
      }),
    );
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    await this.ready();
    const r = await this.pool.query<EventRow>({
      name: 'es_read_all',
      text: this.sql.readAll,
      values: [(options.after ?? 0n).toString(10), limitOf(options.maxCount)],
    });
    return r.rows.map(toRecorded);
  }

  async headPosition(): Promise<bigint | null> {
    this.assertOpen();
    await this.ready();
    const r = await this.pool.query<{ head: string | null }>({
      name: 'es_head',
      text: this.sql.head,
    });
    const head = r.rows[0]?.head;
    return head === null || head === undefined ? null : BigInt(head);
  }

  async waitForAppend(
    after: bigint | null,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    this.assertOpen();
    this.listener.start();
    return waitForHead({
      notifier: this.notifier,
      // A closed store just stops reporting; the wait then ends by timeout or abort.
      readHead: async () => {
        if (this.closed) return null;
        try {
          return await this.headPosition();
        } catch (error) {
          if (this.closed) return null;
          throw error;
        }
      },
      after,
      timeoutMs,
      pollIntervalMs: this.options.pollIntervalMs ?? 1000,
      ...(signal ? { signal } : {}),
    });
  }

  /** The NOTIFY channel, whether its LISTEN connection is up, how many times it was established. */
  get listenerState(): { channel: string; listening: boolean; connections: number } {
    return {
      channel: this.channel,
      listening: this.listener.listening,
      connections: this.listener.connections,
    };
  }

  /** Commits or fails every queued append, then ends the LISTEN connection and the pool. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.queue?.drain();
      await this.reads.drain();
      await Promise.allSettled([...this.direct]);
      await this.listener.stop();
      this.releaseNotifier();
      await this.pool.end();
    })();
    return this.closing;
  }

  /**
   * Creates (or checks) the schema once, on first use; a failure is retried by the next call.
   * On a connection of its own, under a transaction-scoped advisory lock: processes opening a
   * fresh database at once take turns (concurrent CREATE … IF NOT EXISTS can fail otherwise).
   */
  private ready(): Promise<void> {
    this.migrated ??= this.migrate().catch((error: unknown) => {
      this.migrated = null;
      throw error;
    });
    return this.migrated;
  }

  private async migrate(): Promise<void> {
    const client = dedicatedClient(this.connectionString);
    try {
      await client.connect();
      await client.query('BEGIN');
      // The lock every part that creates tables in a schema of ours takes (read models, keys,
      // schedule, clock): a log sharing its schema with them does not collide on CREATE SCHEMA.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('rm_migrations'), hashtext($1))", [
        this.schema,
      ]);
      const found = await client.query<{ present: boolean; tag: string | null }>(this.sql.version);
      const present = found.rows[0]?.present ?? false;
      const version = versionOf(found.rows[0]?.tag);
      if (present && version === null)
        throw new Error(`${this.location}: the table "events" exists but is not an event log`);
      if (version !== null && version > SCHEMA_VERSION)
        throw new Error(
          `${this.location}: event log schema v${version} is newer than this code (v${SCHEMA_VERSION})`,
        );
      if (version !== SCHEMA_VERSION) {
        if (this.schema !== 'public') await client.query(this.sql.createSchema);
        await client.query(this.sql.create);
      }
      await client.query('COMMIT');
    } finally {
      // Ending the session also ends an unfinished transaction (rolled back, lock released).
      await client.end().catch(() => undefined);
    }
  }

  /**
   * One transaction for the batch: the append lock, then every request in one statement when the
   * batch's streams are distinct (each request's expectation checked on its own; a request whose
   * expectation fails writes nothing and fails alone), then NOTIFY and COMMIT in one round trip.
   * When that statement fails (a unique violation: a writer that does not take the lock, or an
   * event id used twice), or a stream appears twice, each request runs in its own savepoint (a
   * failing request is rolled back alone), pipelined (sent without waiting for each answer): when
   * request i fails, everything sent after it fails too (the transaction is in error): roll back
   * to the savepoint before i and send the rest again.
   */
  private async commitBatch(reqs: readonly AppendRequest[]): Promise<Outcome<AppendResult>[]> {
    await this.ready();
    const client = await this.pool.connect();
    let broken = false;
    try {
      // A writer frozen mid-transaction (SIGSTOP, a stuck event loop) would hold the append lock,
      // hence every writer of the log, for ever: the server ends such a transaction instead.
      await client.query(
        `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${LOCK_IDLE_TIMEOUT_MS}; ` +
          `SELECT pg_advisory_xact_lock(${this.appendLock}); SAVEPOINT a`,
      );
      const outcomes =
        (await this.appendTogether(client, reqs)) ?? (await this.appendOneByOne(client, reqs));
      let last: bigint | null = null;
      for (const o of outcomes)
        if (o.ok && (last === null || o.value.position > last)) last = o.value.position;
      if (last === null) {
        await client.query('ROLLBACK');
        return outcomes;
      }
      // The notification is delivered at commit, to every LISTEN connection (other processes).
      const done = (await client.query(
        `SELECT pg_notify('${this.channel}', '${last.toString(10)}'); COMMIT`,
      )) as unknown as Array<{ command: string }>;
      // COMMIT of a transaction in error is answered with ROLLBACK, not an error.
      if (done[done.length - 1]?.command !== 'COMMIT')
        throw new Error('event store: the append transaction was rolled back at commit');
      this.stats.transactions++;
      this.stats.appends += outcomes.filter((o) => o.ok).length;
      return outcomes;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Every request in one statement, when the batch has several and no stream twice; null when it
   * does not apply or the statement failed (rolled back to the savepoint: nothing of it stays).
   */
  private async appendTogether(
    client: PoolClient,
    reqs: readonly AppendRequest[],
  ): Promise<Outcome<AppendResult>[] | null> {
    // As PostgreSQL will store them: a lone surrogate becomes U+FFFD, so two ids distinct here
    // can name one stream there.
    const streams = new Set(reqs.map((r) => Buffer.from(r.streamId, 'utf8').toString('utf8')));
    if (reqs.length < 2 || streams.size < reqs.length) return null;
    const events = { request: [] as number[], ids: [] as string[], types: [] as string[] };
    const payloads = { data: [] as string[], metadata: [] as string[] };
    reqs.forEach((req, i) => {
      for (let j = 0; j < req.eventIds.length; j++) {
        events.request.push(i + 1);
        events.ids.push(req.eventIds[j]!);
        events.types.push(req.types[j]!);
        payloads.data.push(req.data[j]!);
        payloads.metadata.push(req.metadata[j]!);
      }
    });
    const expected = reqs.map((r) => r.expectedRevision);
    const done = await settle(
      client.query<AppendRow>({
        name: 'es_append_together',
        text: this.sql.appendTogether,
        values: [
          reqs.map((r) => r.streamId),
          expected.map((e) => (typeof e === 'number' ? 'exact' : e)),
          expected.map((e) => (typeof e === 'number' ? e : null)),
          events.request,
          events.ids,
          events.types,
          payloads.data,
          payloads.metadata,
        ],
      }),
    );
    if (!done.ok) {
      await client.query('ROLLBACK TO SAVEPOINT a');
      return null;
    }
    return reqs.map((req, i) => this.appendOutcome(req, done.value.rows[i]));
  }

  /** Each request in its own savepoint, pipelined (see commitBatch). */
  private async appendOneByOne(
    client: PoolClient,
    reqs: readonly AppendRequest[],
  ): Promise<Outcome<AppendResult>[]> {
    const outcomes: Outcome<AppendResult>[] = [];
    for (let from = 0; from < reqs.length;) {
      const sent = reqs.slice(from).map((req, j) => ({
        req,
        append: settle(this.appendQuery(client, req)),
        // Keeps what this request wrote and opens the next request's savepoint.
        step:
          from + j < reqs.length - 1
            ? settle(client.query('RELEASE SAVEPOINT a; SAVEPOINT a'))
            : null,
      }));
      let failed: { req: AppendRequest; error: unknown } | null = null;
      for (const { req, append, step } of sent) {
        const done = await append;
        if (!done.ok) {
          failed = { req, error: done.error };
          break;
        }
        outcomes.push(this.appendOutcome(req, done.value.rows[0]));
        const stepped = await step;
        if (stepped && !stepped.ok) throw stepped.error;
      }
      if (!failed) break;
      // Let the refused rest of the pipeline come back before rolling back.
      await Promise.all(sent.flatMap((x) => (x.step ? [x.append, x.step] : [x.append])));
      outcomes.push({ ok: false, error: await this.undo(client, failed.req, failed.error) });
      from = outcomes.length;
    }
    return outcomes;
  }

  /**
   * One round trip per append: reads the stream's revision, checks the expectation and inserts
   * every event (or none) in one statement.
   */
  private appendQuery(client: PoolClient, req: AppendRequest): Promise<QueryResult<AppendRow>> {
    const expected = req.expectedRevision;
    return client.query<AppendRow>({
      name: 'es_append',
      text: this.sql.append,
      values: [
        req.streamId,
        typeof expected === 'number' ? 'exact' : expected,
        typeof expected === 'number' ? expected : null,
        req.eventIds,
        req.types,
        req.data,
        req.metadata,
      ],
    });
  }

  /** Nothing inserted means the expectation failed (the statement wrote nothing: no rollback). */
  private appendOutcome(req: AppendRequest, row: AppendRow | undefined): Outcome<AppendResult> {
    if (row && row.position !== null && row.revision !== null)
      return { ok: true, value: { nextRevision: row.revision, position: BigInt(row.position) } };
    try {
      checkExpectedRevision(req.streamId, req.expectedRevision, row?.current ?? null);
      return {
        ok: false,
        error: new Error(`appendToStream(${req.streamId}): nothing was written`),
      };
    } catch (error) {
      return { ok: false, error };
    }
  }

  /**
   * A request failed: roll its savepoint back (the savepoint stays, ready for the next request)
   * and return the error to report. A failed rollback means the transaction or the connection is
   * gone: it is thrown, failing the whole batch.
   */
  private async undo(client: PoolClient, req: AppendRequest, error: unknown): Promise<unknown> {
    await client.query('ROLLBACK TO SAVEPOINT a');
    if (
      error instanceof DatabaseError &&
      error.code === '23505' &&
      error.constraint === STREAM_REVISION_KEY
    ) {
      // Another writer took the revision (one that does not take the append lock).
      const r = await client.query<{ r: number | null }>({
        name: 'es_stream_revision',
        text: this.sql.streamRevision,
        values: [req.streamId],
      });
      return new WrongExpectedRevisionError(
        req.streamId,
        req.expectedRevision,
        r.rows[0]?.r ?? 'no_stream',
      );
    }
    return error;
  }

  private notifyCommitted(results: readonly AppendResult[]): void {
    let max = 0n;
    for (const r of results) if (r.position > max) max = r.position;
    this.notifier.notify(max);
  }

  /** After (re)LISTEN: wakes whoever waits for a head already reached meanwhile. */
  private async wakeAtHead(): Promise<void> {
    try {
      if (this.closed) return;
      const head = await this.headPosition();
      if (head !== null) this.notifier.notify(head);
    } catch {
      // The poll will tell.
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`PostgresEventStore(${this.location}) is closed`);
  }
}

/** How long an append transaction may sit idle (holding the append lock) before the server ends it. */
const LOCK_IDLE_TIMEOUT_MS = 30_000;

interface AppendRow {
  current: number | null;
  position: string | null;
  revision: number | null;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Never rejects (a pipelined query nobody awaits yet must not be an unhandled rejection). */
const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );

/** A stream read waiting for the next batch of reads. */
interface StreamRead {
  streamId: string;
  fromRevision: number;
  limit: number | null;
}

/** Stream reads per statement. */
const MAX_READS_TOGETHER = 256;

/** LIMIT NULL means "no limit". */
const limitOf = (maxCount: number | undefined): number | null =>
  maxCount === undefined ? null : Math.max(0, Math.trunc(maxCount));

function toRecorded(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    streamId: row.stream_id,
    revision: row.revision,
    position: BigInt(row.pos),
    type: row.type,
    data: JSON.parse(row.data) as Record<string, unknown>,
    metadata: JSON.parse(row.metadata) as EventMetadata,
  };
}
