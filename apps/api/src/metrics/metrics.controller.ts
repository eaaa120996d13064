import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MetricsService } from '@app/metrics';
import { Public } from '../http/auth';

/**
 * GET /metrics (API.md: no token, Prometheus text): commands by type and outcome with latencies,
 * HTTP latencies by route, read-model projection lag, and what other parts report (job lag,
 * purges by outcome, reconciler repairs), plus Node process metrics.
 */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiProduces('text/plain')
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', this.metrics.contentType);
    return this.metrics.scrape();
  }
}
