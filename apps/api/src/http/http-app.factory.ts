import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

/** Request bodies above this are refused with 413 PAYLOAD_TOO_LARGE before any parsing. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export function fastifyAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: false,
    return503OnClosing: true,
    // Our request ids: the caller's X-Request-Id when it is sane, else a UUID (echoed back and
    // logged with every request; see observability/http-observability.ts).
    requestIdHeader: false,
    genReqId: requestIdOf,
  });
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

export type { INestApplication };
