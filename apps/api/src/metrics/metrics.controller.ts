import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MetricsService } from '@app/metrics';
import { Public } from '../http/auth';

/**
 * GET /metrics (docs/http-api.md: no token, Prometheus text): commands by type and outcome with latencies,
 * HTTP latencies by route, read-model projection lag, and what other parts report (job lag,
 * purges by outcome, reconciler repairs), plus Node process metrics.
 */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Public()
  @ApiOperation({
    operationId: 'getMetrics',
    summary: 'Prometheus metrics (text exposition format)',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'The metrics, Prometheus text format 0.0.4',
    content: {
      'text/plain': {
        schema: { type: 'string' },
        example: '# HELP subscriptions_commands_total Commands by type and outcome\n',
      },
    },
  })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', this.metrics.contentType);
    return this.metrics.scrape();
  }
}
