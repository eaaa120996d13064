import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { APP_CONFIG, LOGGER } from '@app/infrastructure';
import type { AppConfig } from '@app/platform';
import { ReadDb } from '@app/read-models';
import {
  processOwner,
  type ReplayJob,
  ReplayJobStore,
  type ReplayJobStoreOptions,
} from './replay-job-store';
import { runReplayProcess } from './replay-process';

export type { ReplayJob } from './replay-job-store';

export interface ReplayJobsOptions extends ReplayJobStoreOptions {
  /** How often the running replay writes its heartbeat and progress (default 1 s). */
  heartbeatMs?: number;
}

/** Optional provider of ReplayJobsOptions (tests shorten the intervals). */
export const REPLAY_JOBS_OPTIONS = Symbol.for('app.api.ReplayJobsOptions');

/**
 * Replays started over HTTP. The handles live in the read database (ReplayJobStore, table
 * ops_replays): any api replica on the same read database answers for any handle, before and
 * after a restart (the most recent 20 are kept). One replay at a time across the replicas: a
 * start while one runs anywhere gets the running job's handle. The replay itself runs in a child
 * process (the ops CLI, see replay-process.ts) so that this process keeps answering requests;
 * the process that started it writes a heartbeat and the progress every second and the outcome
 * at the end; a job whose process stopped (no heartbeat for 30 s) is reported failed.
 */
@Injectable()
export class ReplayJobs implements OnApplicationShutdown {
  readonly store: ReplayJobStore;
  private readonly heartbeatMs: number;
  private readonly owner = processOwner();
  private running: Promise<void> | null = null;
  private current: ReplayJob | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    readDb: ReadDb,
    @Optional() @Inject(REPLAY_JOBS_OPTIONS) options: ReplayJobsOptions | null = null,
  ) {
    this.store = new ReplayJobStore(readDb, options ?? {});
    this.heartbeatMs = options?.heartbeatMs ?? 1000;
  }

  async start(projection: string, dryRun: boolean): Promise<{ job: ReplayJob; started: boolean }> {
    if (this.current) return { job: snapshot(this.current), started: false };
    const now = new Date().toISOString();
    const candidate: ReplayJob = {
      id: `replay-${randomUUID()}`,
      status: 'running',
      projection,
      dryRun,
      startedAt: now,
      finishedAt: null,
      progress: { events: 0, done: 0, total: 0 },
      report: null,
      error: null,
      owner: this.owner,
      heartbeatAt: now,
    };
    const claimed = await this.store.claim(candidate);
    if (!claimed.started) return claimed;
    this.run(candidate);
    return { job: snapshot(candidate), started: true };
  }

  /** The handle (this process's own running job from memory: its progress is the freshest). */
  async get(id: string): Promise<ReplayJob | null> {
    if (this.current?.id === id) return snapshot(this.current);
    return this.store.get(id);
  }

  private run(job: ReplayJob): void {
    this.current = job;
    let beating: Promise<unknown> = Promise.resolve();
    const beat = () => {
      beating = beating
        .then(async () => {
          const at = new Date().toISOString();
          if (await this.store.heartbeat(job.id, job.progress, at)) job.heartbeatAt = at;
        })
        .catch((error: unknown) =>
          this.logger.warn({ err: error, replayId: job.id }, 'replay heartbeat not written'),
        );
    };
    const timer = setInterval(beat, this.heartbeatMs);
    timer.unref();
    this.running = runReplayProcess({
      config: this.config,
      projection: job.projection,
      dryRun: job.dryRun,
      onProgress: (p) => (job.progress = p),
    })
      .then(
        (report): Outcome => {
          this.logger.info(
            { replay: { ...report, tables: undefined }, replayId: job.id },
            'read-model replay finished',
          );
          return { status: 'succeeded', report, error: null };
        },
        (error: unknown): Outcome => {
          this.logger.error({ err: error, replayId: job.id }, 'read-model replay failed');
          const message = error instanceof Error ? error.message : String(error);
          return { status: 'failed', report: null, error: message };
        },
      )
      .then(async (outcome) => {
        clearInterval(timer);
        await beating;
        const at = new Date().toISOString();
        const final: ReplayJob = { ...snapshot(job), ...outcome, finishedAt: at, heartbeatAt: at };
        await this.store
          .finish(final)
          .catch((error: unknown) =>
            this.logger.error(
              { err: error, replayId: job.id, status: final.status },
              'replay outcome not recorded in ops_replays (the job will read as failed once its heartbeat is stale)',
            ),
          );
        // Handles read from this process change all at once, after the row did.
        Object.assign(job, final);
      })
      .finally(() => {
        this.current = null;
        this.running = null;
      });
  }

  /**
   * A replay in progress finishes (or fails) and its outcome is recorded before the read
   * database closes: not cut short, since its switch-over is one transaction that must not be
   * interrupted by closing the database under it (the heartbeat goes on meanwhile, so other
   * replicas keep seeing it alive). A process killed instead leaves a row that reads as failed
   * once its heartbeat is stale.
   */
  async onApplicationShutdown(): Promise<void> {
    if (!this.running) return;
    this.logger.info({ replayId: this.current?.id }, 'waiting for the read-model replay to finish');
    await this.running;
  }
}

type Outcome = Pick<ReplayJob, 'status' | 'report' | 'error'>;

const snapshot = (job: ReplayJob): ReplayJob => ({ ...job, progress: { ...job.progress } });
