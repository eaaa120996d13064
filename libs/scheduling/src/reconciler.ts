import type { Logger } from 'pino';
import type { Mutex } from './async-utils';
import { DOMAIN_REFUSAL } from './job-processors';
import { type JobRef, kindOfJobId, type LifecycleQueues, PENDING_STATES } from './lifecycle-queues';
import type { LifecycleScheduler } from './lifecycle-scheduler';
import type { LifecycleMetrics } from './metrics';
import { LIFECYCLE_JOB_KINDS } from './queues';
import { subscriptionIdsOfJobId } from './job-ids';
import { supersededButKept } from './desired-jobs';
import type { DesiredJob } from './queues';
import type { ScheduleTable } from './schedule-table';

export interface ReconcileReport {
  /** Jobs the log calls for (the schedule table) due within the horizon: those Redis must hold. */
  desired: number;
  /** Of those, found in Redis waiting, delayed or running. */
  present: number;
  /** Desired but absent from Redis: recreated. */
  recreated: number;
  /** In Redis but no longer called for: removed. */
  removed: number;
  /** Desired jobs in the failed set: refusals stay visible, infrastructure failures are retried. */
  failed: number;
  retried: number;
  /** False when the scheduler had not caught up with the log: nothing was removed then. */
  caughtUp: boolean;
  durationMs: number;
}

export interface ReconcilerOptions {
  table: ScheduleTable;
  queues: LifecycleQueues;
  scheduler: LifecycleScheduler;
  mutex: Mutex;
  logger: Logger;
  metrics: LifecycleMetrics;
  /**
   * A job added less than this long ago is never removed as stale: another replica's scheduler
   * may have added it for an event this replica's table has not seen yet. Default 60 s.
   */
  staleGraceMs?: number;
  /** How long to wait for the scheduler to catch up before reconciling anyway. Default 60 s. */
  catchUpTimeoutMs?: number;
  /**
   * Scheduling at scale: Redis must hold the table's jobs due before `limitMs()` (now + horizon,
   * or the loader's watermark); later ones wait in the table for the loader. Without it: every
   * job of the table.
   */
  horizon?: { limitMs(): Promise<number> } | null;
}

/**
 * Makes Redis hold exactly the jobs the log calls for within the horizon: after FLUSHALL, a Redis
 * restarted without persistence, a lost write or a bug, every timer due before now + horizon
 * comes back (later ones are the loader's, from the schedule table, when they come near). Source
 * of truth: the schedule table, which the scheduler derives from the log (and which a reset
 * checkpoint rebuilds from the log). A job in Redis beyond the horizon that the table still calls
 * for (loaded under a longer horizon, or before there was one) is left where it is; only jobs the
 * table does not call for at all are stale.
 *
 * It runs when the scheduler has caught up with the log, under the scheduler's lock (so that no
 * batch is half-written while it compares), at start-up and every RECONCILE_INTERVAL_MS.
 */
export class Reconciler {
  constructor(private readonly o: ReconcilerOptions) {}

  /**
   * Compares and repairs. `signal` (the lifecycle stopping) ends the wait for the scheduler and
   * keeps a comparison from starting: the run then rejects with the signal's reason. A comparison
   * under way is cut short by its Redis commands failing (the lifecycle drops the connections if
   * Redis does not answer); what it added or retried by then is correct, and the next run
   * finishes the rest.
   */
  async reconcile(signal?: AbortSignal): Promise<ReconcileReport> {
    const started = Date.now();
    const caughtUp = await this.o.scheduler.waitCaughtUp(this.o.catchUpTimeoutMs ?? 60_000, signal);
    signal?.throwIfAborted();
    const report = await this.o.mutex.run(() => {
      signal?.throwIfAborted();
      return this.compare(caughtUp);
    });
    report.durationMs = Date.now() - started;
    this.o.metrics.reconciled(report);
    const repaired = report.recreated + report.removed + report.retried > 0;
    this.o.logger[repaired ? 'warn' : 'info'](
      { reconcile: report },
      repaired
        ? `lifecycle reconciler: recreated ${report.recreated}, removed ${report.removed}, retried ${report.retried} of ${report.desired} jobs`
        : `lifecycle reconciler: all ${report.desired} jobs in place`,
    );
    return report;
  }

  private async compare(caughtUp: boolean): Promise<ReconcileReport> {
    const desired = await this.desiredInHorizon();
    const wanted = new Set(desired.map((j) => j.jobId));
    const present = new Set<string>();
    const failed = new Set<string>();
    const notInHorizon: JobRef[] = [];
    for (const kind of LIFECYCLE_JOB_KINDS) {
      const pending = await this.o.queues.jobIds(kind, PENDING_STATES);
      const active = new Set(await this.o.queues.jobIds(kind, ['active']));
      for (const id of pending) {
        present.add(id);
        if (!wanted.has(id) && !active.has(id)) notInHorizon.push({ kind, jobId: id });
      }
      for (const id of await this.o.queues.jobIds(kind, ['failed'])) failed.add(id);
    }
    // Only looked up when it can be acted on (the table current): each is a row read.
    const stale = caughtUp ? await this.notCalledFor(notInHorizon) : [];

    const missing = desired.filter((j) => !present.has(j.jobId) && !failed.has(j.jobId));
    await this.o.queues.schedule(missing);

    // Failed jobs the log still calls for: a domain refusal stays visible for an operator; a job
    // that ran out of retries on an infrastructure error gets a new series of attempts.
    let retried = 0;
    const failedDesired = desired.filter((j) => failed.has(j.jobId));
    for (const j of failedDesired) {
      const job = await this.o.queues.queue(j.kind).getJob(j.jobId);
      if (!job || (job.failedReason ?? '').startsWith(DOMAIN_REFUSAL)) continue;
      try {
        await job.retry('failed', { resetAttemptsMade: true });
        retried++;
      } catch (error) {
        this.o.logger.warn(
          { jobId: j.jobId, err: error },
          'reconciler: retry of a failed job refused',
        );
      }
    }

    // Stale jobs are only removed when this table is known to be current, and only if older than
    // the grace period (another replica may have just added them).
    let removed = 0;
    if (caughtUp && stale.length > 0) {
      const graceMs = this.o.staleGraceMs ?? 60_000;
      const old: JobRef[] = [];
      for (const ref of stale) {
        if (graceMs <= 0) {
          old.push(ref);
          continue;
        }
        const job = await this.o.queues.queue(ref.kind).getJob(ref.jobId);
        if (job && Date.now() - job.timestamp >= graceMs) old.push(ref);
      }
      removed = await this.o.queues.unschedule(old);
    }

    return {
      desired: desired.length,
      present: desired.filter((j) => present.has(j.jobId)).length,
      recreated: missing.length,
      removed,
      failed: failedDesired.length,
      retried,
      caughtUp,
      durationMs: 0,
    };
  }

  /** The table's jobs Redis must hold: all of them, or those due before the horizon's limit. */
  private async desiredInHorizon(): Promise<DesiredJob[]> {
    if (!this.o.horizon) return this.o.table.allDesiredJobs();
    const limit = await this.o.horizon.limitMs();
    const jobs: DesiredJob[] = [];
    for await (const page of this.o.table.jobsDue(null, limit)) jobs.push(...page);
    return jobs;
  }

  /**
   * Of jobs in Redis that are not among the desired ones within the horizon, those the table does
   * not call for at all (looked up by their subscription's row): a far job the table still wants
   * stays.
   */
  private async notCalledFor(refs: readonly JobRef[]): Promise<JobRef[]> {
    if (!this.o.horizon) return [...refs];
    return jobsNotCalledFor(this.o.table, refs);
  }
}

/** Of `refs`, the jobs the schedule table does not call for at all (by their subscriptions' rows). */
export async function jobsNotCalledFor<R extends { jobId: string }>(
  table: ScheduleTable,
  refs: readonly R[],
): Promise<R[]> {
  if (refs.length === 0) return [];
  const idsOfRef = refs.map((r) => subscriptionIdsOfJobId(r.jobId));
  const rows = await table.getMany(idsOfRef.flat());
  const wanted = new Set<string>();
  for (const row of rows.values()) for (const j of row.jobs) wanted.add(j.jobId);
  return refs.filter((r, i) => {
    if (wanted.has(r.jobId)) return false;
    const kind = kindOfJobId(r.jobId);
    return !idsOfRef[i]!.some((id) => {
      const row = rows.get(id);
      return row !== undefined && supersededButKept(kind, row.jobs);
    });
  });
}
