import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { LOGGER } from '@app/infrastructure';
import { MetricsService } from '@app/metrics';
import type { Caller } from '../http/auth';
import { correlationIdOf } from '../http/request-context';

/**
 * Request logging and HTTP metrics as Fastify hooks, so that every request is seen — also the
 * ones that never reach a controller (unknown route, 413 before parsing, 401 from the guard).
 * Installed from inside the app (not from main.ts), so production and every test app run it.
 *
 * One log line per request: request id, correlation id, method, route pattern, path (no query
 * string: filters may name people), status, duration and the calling service. Never headers or
 * bodies (tokens, personal data); the logger's redaction is the second line of defence.
 */
@Injectable()
export class HttpObservability implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    const log = this.logger.child({ component: 'http' });
    fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      void reply.header('x-request-id', request.id);
      void reply.header('x-correlation-id', correlationIdOf(request));
    });
    fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
      const route = request.routeOptions?.url ?? 'unmatched';
      const seconds = reply.elapsedTime / 1000;
      this.metrics.recordHttpRequest(request.method, route, reply.statusCode, seconds);
      const caller = (request as FastifyRequest & { caller?: Caller }).caller;
      const entry = {
        reqId: request.id,
        correlationId: correlationIdOf(request),
        method: request.method,
        route,
        path: request.url.split('?', 1)[0],
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        service: caller?.service ?? null,
      };
      if (reply.statusCode >= 500) log.error(entry, 'request failed');
      else log.info(entry, 'request');
    });
  }
}
