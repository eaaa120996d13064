import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { z } from 'zod';
import { PROJECTION_NAMES } from '@app/ops';
import { ApiErrors } from '../docs/api-docs.decorators';
import { toOpenApiSchema } from '../docs/openapi-schemas';
import { ApiError } from '../http/api-error';
import { RequireScope } from '../http/auth';
import { parseInput } from '../http/zod-validation';
import { RESPONSES } from '../read-side/response-schemas';
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
@ApiTags('operations')
@Controller('v1/ops/replay')
export class OpsReplayController {
  constructor(private readonly jobs: ReplayJobs) {}

  @Post()
  @ApiOperation({
    operationId: 'startReplay',
    summary: 'Rebuild the read models from the log, in the background',
    description:
      'One replay at a time across the replicas: a start while one runs answers that one with `alreadyRunning: true`. Follow it at `href`.',
  })
  @ApiBody({
    required: false,
    schema: toOpenApiSchema(replayRequestSchema),
    examples: {
      rebuild: { summary: 'Rebuild and switch over', value: { projection: 'all' } },
      dryRun: {
        summary: 'Rebuild aside and compare, without switching',
        value: { projection: 'read-models', dryRun: true },
      },
    },
  })
  @ApiAcceptedResponse({ description: 'The replay handle', schema: RESPONSES.replayStarted })
  @HttpCode(202)
  @RequireScope('ops')
  async start(@Body() rawBody: unknown) {
    const body = parseInput(replayRequestSchema, rawBody ?? {}, 'body');
    const { job, started } = await this.jobs.start(body.projection, body.dryRun);
    return { ...handle(job), alreadyRunning: !started };
  }

  @Get(':id')
  @ApiOperation({
    operationId: 'getReplay',
    summary: "A replay's handle: status, progress, then its report or error",
  })
  @ApiOkResponse({ description: 'The replay handle', schema: RESPONSES.replayJob })
  @ApiParam({
    name: 'id',
    required: true,
    description: 'The replay id from `POST /v1/ops/replay`',
    schema: { type: 'string', maxLength: 200 },
    example: 'replay-0b8e2d1c-4a57-4b8f-a0ad-1a4f4d1f8d3e',
  })
  @ApiErrors({ NOT_FOUND: 'no such replay' })
  @RequireScope('ops')
  async get(@Param('id') id: string) {
    const job = await this.jobs.get(id);
    if (!job) throw new ApiError('NOT_FOUND', `No replay ${id}.`);
    return handle(job);
  }
}
