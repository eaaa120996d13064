import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type AppConfig, ControlledClock, loadConfig } from '@app/platform';
import pino from 'pino';
import { AppModule } from '../../apps/api/src/app.module';
import { fastifyAdapter } from '../../apps/api/src/http/http-app.factory';
import { makeTmpDir, removeTmpDir } from './tmp-dir';

export const TOKENS = {
  writer: 'tok-writer',
  reader: 'tok-reader',
  auditor: 'tok-auditor',
  ops: 'tok-ops',
  all: 'tok-all',
} as const;

/** A config like production's: explicit tokens per scope, data under a fresh temp dir. */
export function testConfig(dataDir: string, env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    AUTH_TOKENS: JSON.stringify({
      [TOKENS.writer]: { service: 'billing', scopes: ['subscriptions:write'] },
      [TOKENS.reader]: { service: 'portal', scopes: ['subscriptions:read'] },
      [TOKENS.auditor]: { service: 'audit', scopes: ['audit:read'] },
      [TOKENS.ops]: { service: 'ops', scopes: ['ops'] },
      [TOKENS.all]: {
        service: 'all',
        scopes: ['subscriptions:write', 'subscriptions:read', 'audit:read', 'ops'],
      },
    }),
    ...env,
  });
}

export interface TestApp {
  app: NestFastifyApplication;
  clock: ControlledClock;
  dataDir: string;
  config: AppConfig;
  close(): Promise<void>;
}

/** The real API app (Fastify, real SQLite files under a temp dir) with a controlled clock. */
export async function startTestApp(
  start = '2026-02-10T09:00:00.000Z',
  env: Record<string, string> = {},
): Promise<TestApp> {
  const dataDir = makeTmpDir('sub-eol-app-');
  const config = testConfig(dataDir, env);
  const clock = new ControlledClock(start);
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot({ config, clock, logger: pino({ level: 'silent' }) })],
  }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(fastifyAdapter(), {
    logger: false,
  });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    clock,
    dataDir,
    config,
    async close() {
      await app.close();
      removeTmpDir(dataDir);
    },
  };
}

export const auth = (token: string) => ({ authorization: `Bearer ${token}` });

export function registrationBody(overrides: Record<string, unknown> = {}) {
  return {
    accountId: 'acc_1',
    productId: 'goto-meeting',
    plan: { kind: 'monthly' },
    termStart: '2026-01-31T00:00:00+01:00',
    timeZone: 'Europe/Rome',
    contract: false,
    autoRenew: true,
    ...overrides,
  };
}
