/**
 * npm run lint:openapi: builds the OpenAPI document the way the server serves it at /docs/json
 * (the AppModule over a throwaway DATA_DIR, no lifecycle, so no Redis), writes it to a temp file
 * and runs `redocly lint` on it with the repository's redocly.yaml (the recommended ruleset).
 * `--out <file>` keeps the document there as well. Exit code: redocly's.
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import { loadConfig } from '@app/platform';
import { AppModule } from '../apps/api/src/app.module';
import { fastifyAdapter } from '../apps/api/src/http/http-app.factory';

const ROOT = resolve(__dirname, '..');

/** The served document, built by a real app over a temp DATA_DIR that is removed afterwards. */
export async function buildServedDocument(): Promise<unknown> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sub-eol-openapi-'));
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      AUTH_TOKENS: JSON.stringify({ 'openapi-lint': { service: 'lint', scopes: ['ops'] } }),
    });
    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot({ config, logger: pino({ level: 'silent' }) }) as never,
      fastifyAdapter(),
      { logger: false },
    );
    try {
      await app.init();
      // What GET /docs/json answers, through the route itself (serialisation included).
      const res = await app.inject({ method: 'GET', url: '/docs/json' });
      if (res.statusCode !== 200) throw new Error(`/docs/json answered ${res.statusCode}`);
      return res.json<unknown>();
    } finally {
      await app.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
}

async function main(argv: string[]): Promise<number> {
  const outIndex = argv.indexOf('--out');
  const document = await buildServedDocument();
  const dir = mkdtempSync(join(tmpdir(), 'sub-eol-openapi-lint-'));
  try {
    const file =
      outIndex >= 0 && argv[outIndex + 1]
        ? resolve(argv[outIndex + 1]!)
        : join(dir, 'openapi.json');
    writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
    const result = spawnSync(
      process.execPath,
      [
        require.resolve('@redocly/cli/bin/cli.js'),
        'lint',
        file,
        '--config',
        join(ROOT, 'redocly.yaml'),
      ],
      {
        stdio: 'inherit',
        cwd: ROOT,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    );
    return result.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error('lint:openapi failed:', error);
      process.exit(1);
    },
  );
}
