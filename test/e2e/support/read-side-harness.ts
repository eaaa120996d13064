import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import { subscriptionDecider, subscriptionStreamId } from '@app/domain';
import type { EventStore } from '@app/event-store';
import { CommandRunner, RAW_EVENT_STORE } from '@app/infrastructure';
import { ControlledClock, createLogger } from '@app/platform';
import { AppModule } from '../../../apps/api/src/app.module';
import { fastifyAdapter } from '../../../apps/api/src/http/http-app.factory';
import { testConfig } from '../../support/app-harness';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';

export { auth, registrationBody, TOKENS } from '../../support/app-harness';

/** Everything the app logged, as parsed JSON lines (the production logger, with redaction). */
export class LogCapture {
  readonly lines: string[] = [];
  readonly destination = { write: (line: string) => void this.lines.push(line) };
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  raw(): string {
    return this.lines.join('');
  }
  clear(): void {
    this.lines.length = 0;
  }
}

export interface ReadSideApp {
  app: NestFastifyApplication;
  clock: ControlledClock;
  dataDir: string;
  log: LogCapture;
  raw: EventStore;
  close(): Promise<void>;
}

/**
 * The real app as startTestApp builds it, but logging through the production logger factory
 * (redaction included) into a capture, so tests can read what the app writes to its log.
 */
export async function startReadSideApp(
  options: { start?: string; env?: Record<string, string>; logLevel?: 'info' | 'warn' } = {},
): Promise<ReadSideApp> {
  const dataDir = makeTmpDir('sub-eol-read-');
  const config = testConfig(dataDir, options.env ?? {});
  const clock = new ControlledClock(options.start ?? '2026-02-10T09:00:00.000Z');
  const log = new LogCapture();
  const logger = createLogger(
    { logLevel: options.logLevel ?? 'info' },
    { name: 'api', destination: log.destination },
  );
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot({ config, clock, logger })],
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
    log,
    raw: app.get<EventStore>(RAW_EVENT_STORE),
    async close() {
      await app.close();
      removeTmpDir(dataDir);
    },
  };
}

/** A silent pino for places that need one. */
export const silentLogger = () => pino({ level: 'silent' });

/** Moves the controlled clock forward to `at` (never back: later tests share the app). */
export async function advanceTo(t: ReadSideApp, at: string): Promise<void> {
  if (t.clock.now().toMillis() < Date.parse(at)) await t.clock.advanceTo(at);
}

/** Moves a subscription through its term end (expires when auto-renew is off) at `at`. */
export async function processTermEnd(t: ReadSideApp, subscriptionId: string, at: string) {
  await advanceTo(t, at);
  const runner = t.app.get(CommandRunner);
  return runner.run(
    subscriptionStreamId(subscriptionId),
    subscriptionDecider,
    { type: 'ProcessTermEnd', data: { subscriptionId, now: runner.now() } },
    {
      commandId: null,
      requestHash: null,
      correlationId: `term-end-${subscriptionId}`,
      causationId: null,
      actor: null,
      channel: 'system',
    },
  );
}
