import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { composeUpcasters, type EventStore } from '@app/event-store';
import { APP_CONFIG, LOGGER, RAW_EVENT_STORE, UPCASTERS } from '@app/infrastructure';
import { replayReadModels, type ReplayReport } from '@app/ops';
import type { AppConfig } from '@app/platform';
import { ReadDb } from '@app/read-models';

export interface ReplayJob {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  projection: string;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string | null;
  progress: { events: number; done: number; total: number };
  report: ReplayReport | null;
  error: string | null;
}

/**
 * Replays started over HTTP, run in this process one at a time (a second request while one runs
 * gets the running job's handle). Handles live in memory: the report of a finished replay is
 * kept until the process restarts (the most recent 20).
 */
@Injectable()
export class ReplayJobs implements OnApplicationShutdown {
  private readonly jobs = new Map<string, ReplayJob>();
  private running: Promise<void> | null = null;
  private current: ReplayJob | null = null;

  constructor(
    @Inject(RAW_EVENT_STORE) private readonly log: EventStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly readDb: ReadDb,
  ) {}

  start(projection: string, dryRun: boolean): { job: ReplayJob; started: boolean } {
    if (this.current) return { job: this.current, started: false };
    const job: ReplayJob = {
      id: `replay-${randomUUID()}`,
      status: 'running',
      projection,
      dryRun,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      progress: { events: 0, done: 0, total: 0 },
      report: null,
      error: null,
    };
    this.jobs.set(job.id, job);
    for (const id of [...this.jobs.keys()].slice(0, Math.max(0, this.jobs.size - 20)))
      this.jobs.delete(id);
    this.current = job;
    this.running = replayReadModels({
      log: this.log,
      live: this.readDb,
      dataDir: this.config.dataDir,
      readDbUrl: this.config.readDbUrl,
      upcast: composeUpcasters(UPCASTERS),
      projection,
      dryRun,
      onProgress: (p) => (job.progress = p),
    })
      .then((report) => {
        job.report = report;
        job.status = 'succeeded';
        this.logger.info(
          { replay: { ...report, tables: undefined } },
          'read-model replay finished',
        );
      })
      .catch((error: unknown) => {
        job.status = 'failed';
        job.error = error instanceof Error ? error.message : String(error);
        this.logger.error({ err: error, replayId: job.id }, 'read-model replay failed');
      })
      .finally(() => {
        job.finishedAt = new Date().toISOString();
        this.current = null;
        this.running = null;
      });
    return { job, started: true };
  }

  get(id: string): ReplayJob | null {
    return this.jobs.get(id) ?? null;
  }

  /** A replay in progress finishes (or fails) before the read database closes. */
  async onApplicationShutdown(): Promise<void> {
    await this.running;
  }
}
