import 'reflect-metadata';
import { Logger as PinoLogger } from 'pino';
import { createLogger, loadConfig } from '@app/platform';
import { lifecycleOptionsFromEnv } from '@app/scheduling';
import { AppModule } from './app.module';
import { createHttpApp } from './http/http-app.factory';

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
  const app = await createHttpApp(AppModule.forRoot({ config, logger, lifecycle }));
  await app.listen(config.port, '0.0.0.0');
  logger.info({ port: config.port, dataDir: config.dataDir, role }, 'api listening');
}

main().catch((error: unknown) => {
  // Start-up errors (bad configuration, missing redis-server) are for a person: print them plainly.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
