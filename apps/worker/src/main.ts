import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createLogger, loadConfig } from '@app/platform';
import { lifecycleOptionsFromEnv } from '@app/scheduling';
import { WorkerHealthServer } from './health/worker-health.server';
import { WorkerModule } from './worker.module';

/**
 * `npm run start:worker`: the lifecycle worker alone. Needs REDIS_URL (a Redis shared with the
 * api); `npm start` runs api and worker in one process on the embedded defaults. Its only HTTP is
 * the health and metrics port (WORKER_HEALTH_PORT, default 9464; `off`: none): /health/live,
 * /health/ready, /metrics.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config, { name: 'worker' });
  const health = config.workerHealthPort === null ? undefined : { port: config.workerHealthPort };
  const app = await NestFactory.createApplicationContext(
    WorkerModule.forRoot({
      config,
      logger,
      lifecycle: lifecycleOptionsFromEnv(process.env),
      // Only an explicit `on`: by default the API process projects.
      projector: process.env['READ_MODEL_PROJECTOR'] === 'on',
      ...(health ? { health } : {}),
    }),
    { logger: ['error', 'warn'] },
  );
  // process.exit(0) after the hooks (rather than re-raising the signal) lets pino's asynchronous
  // destination flush its last lines on 'exit'.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  const healthPort = health ? app.get(WorkerHealthServer).port : null;
  logger.info({ dataDir: config.dataDir, pid: process.pid, healthPort }, 'worker started');
}

main().catch((error: unknown) => {
  // Start-up errors (bad configuration, no REDIS_URL, missing redis-server, a health port in
  // use) are for a person.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
