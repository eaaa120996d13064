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
  });
}

/** Creates the Nest app on Fastify with the house settings (used by main and by tests). */
export async function createHttpApp(rootModule: unknown): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    rootModule as never,
    fastifyAdapter(),
    {
      bufferLogs: false,
      logger: ['error', 'warn'],
    },
  );
  app.enableShutdownHooks();
  return app;
}

export type { INestApplication };
