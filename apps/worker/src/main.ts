import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createLogger, loadConfig, ShutdownState, shutdownOnSignals } from '@app/platform';
import { lifecycleOptionsFromEnv } from '@app/scheduling';
import { WorkerHealthServer } from './health/worker-health.server';
import { WorkerModule } from './worker.module';

const shutdown = new ShutdownState();

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
  const starting = NestFactory.createApplicationContext(
    WorkerModule.forRoot({
      config,
      logger,
      shutdown,
      lifecycle: lifecycleOptionsFromEnv(process.env),
      // Only an explicit `on`: by default the API process projects.
      projector: process.env['READ_MODEL_PROJECTOR'] === 'on',
      ...(health ? { health } : {}),
    }),
    { logger: ['error', 'warn'] },
  );
  // Listening from the start: a signal during start-up (the lifecycle waiting for an unreachable
  // Redis) aborts the start-up through `shutdown`, and the process exits 0 once it has settled.
  shutdownOnSignals({
    state: shutdown,
    drainMs: config.shutdownDrainMs,
    logger,
    close: async () => {
      const app = await starting.catch(() => undefined);
      await app?.close();
    },
  });
  const app = await starting;
  const healthPort = health ? app.get(WorkerHealthServer).port : null;
  logger.info({ dataDir: config.dataDir, pid: process.pid, healthPort }, 'worker started');
}

main().catch((error: unknown) => {
  // Interrupted by SIGTERM/SIGINT: the signal handler finishes the shutdown and exits 0.
  if (shutdown.shuttingDown) return;
  // Start-up errors (bad configuration, no REDIS_URL, missing redis-server, a health port in
  // use) are for a person.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
