import { Controller, Get } from '@nestjs/common';
import { ReadinessService } from '@app/health';
import { ApiError } from '../http/api-error';
import { Public } from '../http/auth';

/**
 * Liveness and readiness (API.md): ready = event store, Redis (when the lifecycle runs here) and
 * read store reachable (libs/health, @nestjs/terminus). A failure is 503 SERVICE_UNAVAILABLE in
 * the error shape of API.md, with every check's state in `details`.
 */
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  @Get('live')
  @Public()
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @Public()
  async ready() {
    const report = await this.readiness.check();
    if (!report.ready) throw new ApiError('SERVICE_UNAVAILABLE', report.message, report.checks);
    return { status: 'ok', checks: report.checks };
  }
}
