import 'reflect-metadata';
import { Logger as PinoLogger } from 'pino';
import { createLogger, loadConfig, ShutdownState, shutdownOnSignals } from '@app/platform';
import { lifecycleOptionsFromEnv } from '@app/scheduling';
import { AppModule } from './app.module';
import { createHttpApp } from './http/http-app.factory';

const shutdown = new ShutdownState();

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger: PinoLogger = createLogger(config, { name: 'api' });
  if (config.devTokenInUse)
    logger.warn(
      'AUTH_TOKENS is unset: the development token "dev-token" has every scope. Never run so in production.',
    );
  // `npm start`: api and worker in one process; `npm run start:api` (--api-only): the api alone.
  const role = process.argv.includes('--api-only') ? 'api' : 'all';
  const lifecycle = { ...lifecycleOptionsFromEnv(process.env), role } as const;
  const creating = createHttpApp(AppModule.forRoot({ config, logger, lifecycle, shutdown }));
  // SIGTERM/SIGINT: /health/ready answers 503 at once, requests are served as usual for
  // SHUTDOWN_DRAIN_MS, then the port closes (requests in flight finish), the shutdown hooks
  // run and the process exits 0. During start-up the signal aborts what waits on Redis.
  shutdownOnSignals({
    state: shutdown,
    drainMs: config.shutdownDrainMs,
    logger,
    close: async () => {
      const app = await creating.catch(() => undefined);
      await app?.close();
    },
  });
  const app = await creating;
  await app.listen(config.port, '0.0.0.0');
  logger.info({ port: config.port, dataDir: config.dataDir, role }, 'api listening');
}

main().catch((error: unknown) => {
  // Interrupted by SIGTERM/SIGINT: the signal handler finishes the shutdown and exits 0.
  if (shutdown.shuttingDown) return;
  // Start-up errors (bad configuration, missing redis-server) are for a person: print them plainly.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
