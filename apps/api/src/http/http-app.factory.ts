import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { ErrorBody } from './api-error';
import {
  clientErrorHandler,
  EDGE_TIMEOUTS,
  type EdgeTimeouts,
  frameworkErrors,
  requireHost,
  requireJsonBodies,
} from './http-edge';

/** Request bodies above this are refused with 413 PAYLOAD_TOO_LARGE before any parsing. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export function fastifyAdapter(timeouts: EdgeTimeouts = EDGE_TIMEOUTS): FastifyAdapter {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    http: {
      headersTimeout: timeouts.headersTimeoutMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
      // Checked by requireHost, which answers in the API's error shape.
      requireHostHeader: false,
    },
    frameworkErrors,
    clientErrorHandler,
    trustProxy: false,
    // Fastify's own 503 while closing has a body of its own shape: answerWhileClosing() answers
    // those requests in ours instead.
    return503OnClosing: false,
    // Our request ids: the caller's X-Request-Id when it is sane, else a UUID (echoed back and
    // logged with every request; see observability/http-observability.ts).
    requestIdHeader: false,
    genReqId: requestIdOf,
  });
  answerWhileClosing(adapter.getInstance());
  requireHost(adapter.getInstance());
  requireJsonBodies(adapter.getInstance());
  return adapter;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(request: IncomingMessage): string {
  const raw = request.headers['x-request-id'];
  return typeof raw === 'string' && REQUEST_ID.test(raw) ? raw : randomUUID();
}

/**
 * Creates the Nest app on Fastify with the house settings (used by main and by tests). No
 * signal handling here: main.ts handles SIGTERM/SIGINT (shutdownOnSignals: readiness 503, drain,
 * app.close(), exit 0); Nest's enableShutdownHooks would answer every request with 503 at once.
 */
export async function createHttpApp(rootModule: unknown): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    rootModule as never,
    fastifyAdapter(),
    {
      bufferLogs: false,
      logger: ['error', 'warn'],
    },
  );
  return app;
}

/** What a request gets once the server is closing (after SHUTDOWN_DRAIN_MS, during app.close()). */
export const CLOSING_BODY: ErrorBody = {
  error: {
    code: 'SERVICE_UNAVAILABLE',
    message: 'The service is shutting down; retry the request (another instance will answer).',
  },
};

/**
 * From the moment the server begins to close (app.close(): Fastify's preClose), a request that
 * still arrives (on a kept-alive connection; new connections are refused) is answered 503 in the
 * API's error shape, with `Connection: close` and `Retry-After`, before any route runs: the
 * stores may be closing under it. Requests already in flight finish. Replaces Fastify's
 * return503OnClosing, whose body is not in the API's shape.
 */
export function answerWhileClosing(fastify: FastifyInstance): void {
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    void reply
      .code(503)
      .header('connection', 'close')
      .header('retry-after', '1')
      .header('content-type', 'application/json; charset=utf-8')
      .send(CLOSING_BODY);
  });
}

export type { INestApplication };
