import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '@app/platform';
import type { JobRef, LifecycleQueues } from './lifecycle-queues';
import type { LifecycleMetrics } from './metrics';
import type { DesiredJob } from './queues';
import type { ScheduleTable } from './schedule-table';

export interface ScheduleLoaderOptions {
  table: ScheduleTable;
  queues: LifecycleQueues;
  /** The injected clock: the horizon is counted from its reading, never from Date.now(). */
  clock: Clock;
  /** LIFECYCLE_HORIZON_HOURS: Redis holds the jobs due before now + this. */
  horizonMs: number;
  logger: Logger;
  metrics?: LifecycleMetrics;
  /** Awaited before the clock is read: a shared controlled clock takes up the stored reading. */
  syncClock?: () => Promise<unknown>;
  /** Jobs read from the table per query (default 5,000). */
  pageSize?: number;
  /**
   * Each run reads again this far below the watermark (default 0). A scheduler that lost its
   * lease may still commit a row with a job just below the watermark its successor's loader
   * moved; the overlap (a few loader intervals, far less than the horizon, so still ahead of
   * now) picks such a job up. Re-reading costs little: jobs already in Redis are skipped.
   */
  overlapMs?: number;
}

export interface LoadReport {
  /** Where the run started reading (the watermark; null: from the beginning, a full load). */
  fromMs: number | null;
  /** Every job the table calls for that is due before this is now in Redis (or has run). */
  untilMs: number;
  /** Jobs read from the table. */
  read: number;
  /** Of those, absent from Redis and added. */
  loaded: number;
  /** Added, then found no longer called for by the table (a concurrent change), and removed. */
  withdrawn: number;
  durationMs: number;
}

/** Where the loader keeps how far it has loaded (epoch ms), beside the jobs it describes. */
export const loaderWatermarkKey = (prefix: string): string => `${prefix}:lifecycle:loaded-until`;

/**
 * Compare-and-set of the watermark: set to ARGV[2] only while it still reads ARGV[1] ('' for
 * absent), and never lowered. A watermark that vanished meanwhile (FLUSHALL) stays absent, so
 * the next run loads everything again.
 */
const ADVANCE_WATERMARK = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
local at = current and tonumber(current)
if at and at >= tonumber(ARGV[2]) then return 1 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

/**
 * Scheduling at scale: Redis holds only the jobs due within the horizon (LIFECYCLE_HORIZON_HOURS,
 * 48 h by default); every other job the log calls for waits in the schedule table, and the loader
 * moves it into BullMQ ahead of time (deterministic job ids: adding twice is a no-op).
 *
 * It keeps a watermark in Redis, `<prefix>:lifecycle:loaded-until`: every job the table calls for
 * that is due before it is in Redis (or has run). A run reads only the table's jobs due between
 * the watermark and now + horizon (through the due indexes), adds those absent from Redis, and
 * moves the watermark up. The watermark lives beside the jobs it describes: when Redis loses its
 * data it is lost with them, and the next run loads everything due before now + horizon again.
 * The scheduler adds the jobs it derives that are due before `limitMs()` (never less than the
 * watermark), so a job derived after a run is never left behind it.
 *
 * It runs in the process holding the scheduler's lease, under the scheduler's lock, at start-up
 * and every LIFECYCLE_LOADER_INTERVAL_MS; the controlled clock's drain also loads through it
 * (loadBefore) wherever the clock is moved. A job it adds is checked against the table again
 * after the add: one the table no longer calls for (a cancellation, a withdrawal, a reactivation
 * derived meanwhile, by a scheduler in another process) is removed at once. The scheduler writes
 * a new row before it removes the superseded jobs, so between the two, one or the other removes
 * a job the loader put back.
 */
export class ScheduleLoader {
  readonly watermarkKey: string;

  constructor(private readonly o: ScheduleLoaderOptions) {
    this.watermarkKey = loaderWatermarkKey(o.queues.prefix);
  }

  get horizonMs(): number {
    return this.o.horizonMs;
  }

  /** The stored watermark (null: none, a fresh or flushed Redis, or a full load under way). */
  async watermark(): Promise<number | null> {
    const raw = await this.o.queues.connection.get(this.watermarkKey);
    const at = raw === null ? NaN : Number(raw);
    return Number.isFinite(at) ? at : null;
  }

  /**
   * Jobs due before this belong in Redis now: now + horizon on the injected clock, or the
   * watermark if a run (or another process's clock) has loaded further.
   */
  async limitMs(): Promise<number> {
    const horizon = this.o.clock.now().toMillis() + this.o.horizonMs;
    const stored = await this.watermark();
    return stored === null ? horizon : Math.max(horizon, stored);
  }

  /** One run: loads from the watermark (or from the beginning) to now + horizon, then moves it. */
  async load(): Promise<LoadReport> {
    const started = Date.now();
    await this.o.syncClock?.();
    let raw = await this.o.queues.connection.get(this.watermarkKey);
    const stored = raw === null ? null : Number(raw);
    const fromMs =
      stored === null || !Number.isFinite(stored) ? null : stored - (this.o.overlapMs ?? 0);
    if (fromMs === null) {
      // A full load: mark the key first, so that a Redis loss during the run (the mark gone with
      // the jobs of the earlier pages) keeps the watermark from moving past them at the end.
      raw = `loading:${randomUUID()}`;
      await this.o.queues.connection.set(this.watermarkKey, raw);
    }
    const untilMs = Math.max(this.o.clock.now().toMillis() + this.o.horizonMs, stored ?? 0);
    const counts = await this.loadRange(fromMs, untilMs);
    const moved = await this.o.queues.connection.eval(
      ADVANCE_WATERMARK,
      1,
      this.watermarkKey,
      raw ?? '',
      String(untilMs),
    );
    if (moved !== 1)
      this.o.logger.warn(
        { watermark: this.watermarkKey },
        'lifecycle loader: the watermark changed during the run (Redis lost its data?); the next run loads everything again',
      );
    const report = { fromMs, untilMs, ...counts, durationMs: Date.now() - started };
    if (report.loaded > 0 || fromMs === null)
      this.o.logger.info(
        { load: report },
        `lifecycle loader: ${report.loaded} jobs moved into Redis (due before ${new Date(untilMs).toISOString()})`,
      );
    return report;
  }

  /**
   * Loads every job the table calls for that is due before `limitMs`, without moving the
   * watermark (the controlled clock's drain, in whichever process moves the clock). Returns how
   * many were added.
   */
  async loadBefore(limitMs: number): Promise<number> {
    const fromMs = await this.watermark();
    if (fromMs !== null && fromMs >= limitMs) return 0;
    return (await this.loadRange(fromMs, limitMs)).loaded;
  }

  /** The earliest due instant in (afterMs, toMs] of a job the table calls for (clock stepping). */
  nextDueAfter(afterMs: number, toMs: number): Promise<number | null> {
    return this.o.table.nextDueAfter(afterMs, toMs);
  }

  private async loadRange(
    fromMs: number | null,
    untilMs: number,
  ): Promise<{ read: number; loaded: number; withdrawn: number }> {
    let read = 0;
    let loaded = 0;
    let withdrawn = 0;
    for await (const page of this.o.table.jobsDue(fromMs, untilMs, this.o.pageSize ?? 5000)) {
      read += page.length;
      const absent = await this.absentFromRedis(page);
      if (absent.length === 0) continue;
      await this.o.queues.schedule(absent);
      loaded += absent.length;
      withdrawn += await this.withdrawUnwanted(absent);
    }
    this.o.metrics?.loaded(loaded - withdrawn);
    return { read, loaded: loaded - withdrawn, withdrawn };
  }

  /** The jobs of `page` whose hash is not in Redis (pending, running or failed ones are). */
  private async absentFromRedis(page: readonly DesiredJob[]): Promise<DesiredJob[]> {
    const check = this.o.queues.connection.pipeline();
    for (const j of page) check.exists(this.o.queues.queue(j.kind).toKey(j.jobId));
    const replies = (await check.exec()) ?? [];
    return page.filter((_, i) => replies[i]?.[1] !== 1);
  }

  /** Removes the added jobs the table no longer calls for; returns how many. */
  private async withdrawUnwanted(added: readonly DesiredJob[]): Promise<number> {
    const rows = await this.o.table.getMany(added.map((j) => j.data.subscriptionId));
    const unwanted: JobRef[] = added
      .filter((j) => !rows.get(j.data.subscriptionId)?.jobs.some((w) => w.jobId === j.jobId))
      .map((j) => ({ kind: j.kind, jobId: j.jobId }));
    if (unwanted.length === 0) return 0;
    return this.o.queues.unschedule(unwanted);
  }
}
