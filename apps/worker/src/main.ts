import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createLogger, loadConfig } from '@app/platform';
import { lifecycleOptionsFromEnv } from '@app/scheduling';
import { WorkerModule } from './worker.module';

/**
 * `npm run start:worker`: the lifecycle worker alone (no HTTP). Needs REDIS_URL (a Redis shared
 * with the api); `npm start` runs api and worker in one process on the embedded defaults.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config, { name: 'worker' });
  const app = await NestFactory.createApplicationContext(
    WorkerModule.forRoot({
      config,
      logger,
      lifecycle: lifecycleOptionsFromEnv(process.env),
      // Only an explicit `on`: by default the API process projects.
      projector: process.env['READ_MODEL_PROJECTOR'] === 'on',
    }),
    { logger: ['error', 'warn'] },
  );
  // process.exit(0) after the hooks (rather than re-raising the signal) lets pino's asynchronous
  // destination flush its last lines on 'exit'.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  logger.info({ dataDir: config.dataDir, pid: process.pid }, 'worker started');
}

main().catch((error: unknown) => {
  // Start-up errors (bad configuration, no REDIS_URL, missing redis-server) are for a person.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
