import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ReadinessService } from '@app/health';
import { ApiErrors } from '../docs/api-docs.decorators';
import { ApiError } from '../http/api-error';
import { Public } from '../http/auth';
import { RESPONSES } from '../read-side/response-schemas';

/**
 * Liveness and readiness (docs/http-api.md): ready = event store, Redis (when the lifecycle runs here) and
 * read store reachable (libs/health, @nestjs/terminus). A failure is 503 SERVICE_UNAVAILABLE in
 * the error shape of docs/http-api.md, with every check's state in `details`.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  @Get('live')
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness: the event loop runs' })
  @ApiOkResponse({ description: 'Alive', schema: RESPONSES.liveness })
  @Public()
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    operationId: 'getReadiness',
    summary: 'Readiness: the event store, Redis and the read store answer within 2 s each',
  })
  @ApiOkResponse({ description: 'Ready', schema: RESPONSES.readiness })
  @ApiErrors({
    SERVICE_UNAVAILABLE:
      'a check failed (each named in `details`), or the process is shutting down',
  })
  @Public()
  async ready() {
    const report = await this.readiness.check();
    if (!report.ready) throw new ApiError('SERVICE_UNAVAILABLE', report.message, report.checks);
    return { status: 'ok', checks: report.checks };
  }
}
