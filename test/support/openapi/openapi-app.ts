import type { AddressInfo } from 'node:net';
import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import { ControlledClock, loadConfig } from '@app/platform';
import { AppModule } from '../../../apps/api/src/app.module';
import { fastifyAdapter } from '../../../apps/api/src/http/http-app.factory';
import { makeTmpDir, removeTmpDir } from '../tmp-dir';
import type { OpenApiDocument } from './response-validator';

/** Tokens of the OpenAPI tests: one with every scope, one per scope (for 403s). */
export const OPENAPI_TOKENS = {
  all: 'tok-openapi-all',
  reader: 'tok-openapi-reader',
} as const;

export interface OpenApiApp {
  app: NestFastifyApplication;
  clock: ControlledClock;
  /** `http://127.0.0.1:<port>`: the app's real HTTP server. */
  baseUrl: string;
  /** The served document, as GET /docs/json answers it. */
  document(): Promise<OpenApiDocument>;
  close(): Promise<void>;
}

/**
 * The real API app (as scripts/demo.ts builds it: AppModule with a controlled clock,
 * CLOCK_MODE=controlled, the Fastify adapter of http-app.factory, SQLite files under a temp
 * DATA_DIR; no lifecycle, so no Redis), listening on an ephemeral port of 127.0.0.1.
 */
export async function startOpenApiApp(
  options: { start?: string; env?: Record<string, string> } = {},
): Promise<OpenApiApp> {
  const dataDir = makeTmpDir('sub-eol-openapi-');
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    CLOCK_MODE: 'controlled',
    AUTH_TOKENS: JSON.stringify({
      [OPENAPI_TOKENS.all]: {
        service: 'openapi-tests',
        scopes: ['subscriptions:write', 'subscriptions:read', 'audit:read', 'events:read', 'ops'],
      },
      [OPENAPI_TOKENS.reader]: { service: 'openapi-reader', scopes: ['subscriptions:read'] },
    }),
    ...options.env,
  });
  const clock = new ControlledClock(options.start ?? '2026-02-10T09:00:00.000Z');
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot({ config, clock, logger: pino({ level: 'silent' }) })],
  }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(fastifyAdapter(), {
    logger: false,
  });
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close();
    removeTmpDir(dataDir);
    throw error;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  let document: Promise<OpenApiDocument> | null = null;
  return {
    app,
    clock,
    baseUrl,
    document() {
      document ??= fetch(`${baseUrl}/docs/json`).then(async (res) => {
        if (res.status !== 200) throw new Error(`GET /docs/json answered ${res.status}`);
        return (await res.json()) as OpenApiDocument;
      });
      return document;
    },
    async close() {
      await app.close();
      removeTmpDir(dataDir);
    },
  };
}
