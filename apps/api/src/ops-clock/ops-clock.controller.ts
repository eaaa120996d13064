import { Body, Controller, Get, HttpCode, Inject, Optional, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, CLOCK } from '@app/infrastructure';
import { type AppConfig, type Clock, ControlledClock } from '@app/platform';
import { LifecycleService } from '@app/scheduling';
import { ApiErrors } from '../docs/api-docs.decorators';
import { toOpenApiSchema } from '../docs/openapi-schemas';
import { ApiError } from '../http/api-error';
import { RequireScope } from '../http/auth';
import { parseInput } from '../http/zod-validation';
import { RESPONSES } from '../read-side/response-schemas';
import { moveClockRequestSchema } from './ops-clock.request.dto';

export interface ClockReading {
  now: string;
}

export interface ClockMoved extends ClockReading {
  previous: string;
  /** Due instants the clock stopped at on the way (each with its jobs run there). */
  steps: number;
  /** Delayed jobs the move released (jobs they scheduled in the past of `now` ran too). */
  jobsReleased: number;
}

/**
 * The controlled clock (docs/http-api.md, tests and staging only). With CLOCK_MODE=controlled,
 * GET reads it and POST moves it forward, never back (409 CLOCK_BACKWARDS). A move answers once
 * every job due at or before the new time has run, in due order, with the clock reading each
 * job's due time (see ClockDriver in libs/scheduling). In any other mode both routes are 404.
 */
@ApiTags('operations')
@Controller('v1/ops/clock')
export class OpsClockController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() private readonly lifecycle?: LifecycleService,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'getClock',
    summary: 'The controlled clock (CLOCK_MODE=controlled only)',
  })
  @ApiOkResponse({ description: 'Its reading', schema: RESPONSES.clockReading })
  @ApiErrors({ NOT_FOUND: 'the clock is not controlled (CLOCK_MODE=system)' })
  @RequireScope('ops')
  read(): ClockReading {
    return { now: this.controlled().now().toISO()! };
  }

  @Post()
  @ApiOperation({
    operationId: 'moveClock',
    summary: 'Move the controlled clock forward; due jobs run on the way',
    description:
      'Answers once every job due at or before `now` has run, in due order, the clock reading each due time on the way (`step: false` jumps without stopping).',
  })
  @ApiBody({
    required: true,
    schema: toOpenApiSchema(moveClockRequestSchema),
    examples: {
      termEnd: {
        summary: 'Past the end of a term',
        value: { now: '2026-03-01T00:00:00Z' },
      },
    },
  })
  @ApiOkResponse({ description: 'Where the clock went', schema: RESPONSES.clockMoved })
  @ApiErrors({
    NOT_FOUND: 'the clock is not controlled (CLOCK_MODE=system)',
    CLOCK_BACKWARDS: '`now` is before the current reading: the clock never goes back',
  })
  @HttpCode(200)
  @RequireScope('ops')
  async move(@Body() rawBody: unknown): Promise<ClockMoved> {
    const clock = this.controlled();
    const body = parseInput(moveClockRequestSchema, rawBody, 'body');
    const previous = clock.now().toISO()!;
    const driver = this.lifecycle?.lifecycle.clockDriver ?? null;
    if (!driver) {
      const now = await clock.advanceTo(body.now);
      return { now: now.toISO()!, previous, steps: 0, jobsReleased: 0 };
    }
    const report = await driver.advanceTo(body.now, { step: body.step ?? true });
    return { now: report.now, previous, steps: report.steps, jobsReleased: report.promoted };
  }

  private controlled(): ControlledClock {
    if (this.config.clockMode !== 'controlled' || !(this.clock instanceof ControlledClock))
      throw new ApiError('NOT_FOUND', 'No such route.');
    return this.clock;
  }
}
