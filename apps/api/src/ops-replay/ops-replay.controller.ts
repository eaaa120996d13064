import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { PROJECTION_NAMES } from '@app/ops';
import { ApiError } from '../http/api-error';
import { RequireScope } from '../http/auth';
import { parseInput } from '../http/zod-validation';
import { type ReplayJob, ReplayJobs } from './replay-jobs';

const replayRequestSchema = z
  .object({
    projection: z.enum(['all', ...PROJECTION_NAMES]).default('all'),
    dryRun: z.boolean().default(false),
  })
  .strict();

const handle = (job: ReplayJob) => ({ ...job, href: `/v1/ops/replay/${job.id}` });

/**
 * POST /v1/ops/replay (ops): rebuilds the read models from the log in the background (the same
 * engine as `npm run ops -- replay`) and answers 202 with a job handle; GET /v1/ops/replay/{id}
 * reports its progress and, once done, its report. Handles are kept in the read database: any
 * replica answers for them, also after a restart (see ReplayJobs).
 */
@Controller('v1/ops/replay')
export class OpsReplayController {
  constructor(private readonly jobs: ReplayJobs) {}

  @Post()
  @HttpCode(202)
  @RequireScope('ops')
  async start(@Body() rawBody: unknown) {
    const body = parseInput(replayRequestSchema, rawBody ?? {}, 'body');
    const { job, started } = await this.jobs.start(body.projection, body.dryRun);
    return { ...handle(job), alreadyRunning: !started };
  }

  @Get(':id')
  @RequireScope('ops')
  async get(@Param('id') id: string) {
    const job = await this.jobs.get(id);
    if (!job) throw new ApiError('NOT_FOUND', `No replay ${id}.`);
    return handle(job);
  }
}
