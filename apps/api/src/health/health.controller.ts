import { Controller, Get, Inject, Optional, ServiceUnavailableException } from '@nestjs/common';
import {
  type HealthCheckResult,
  HealthCheckService,
  type HealthIndicatorFunction,
  HealthIndicatorService,
} from '@nestjs/terminus';
import type { EventStore } from '@app/event-store';
import { RAW_EVENT_STORE } from '@app/infrastructure';
import { ReadStore } from '@app/read-models';
import { LifecycleService } from '@app/scheduling';
import { ApiError } from '../http/api-error';
import { Public } from '../http/auth';

/** A dependency that does not answer within this is down (readiness must answer quickly). */
const PROBE_TIMEOUT_MS = 2000;

/**
 * Liveness and readiness (API.md) with @nestjs/terminus: ready = event store, Redis (when the
 * lifecycle runs here) and read store reachable. A failure is 503 SERVICE_UNAVAILABLE in the
 * error shape of API.md, with every check's state in `details`.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(RAW_EVENT_STORE) private readonly store: EventStore,
    // Absent when the app runs without the lifecycle (no Redis to check then).
    @Optional() private readonly lifecycle?: LifecycleService,
    // Absent when the app runs without the read models.
    @Optional() private readonly readStore?: ReadStore,
  ) {}

  @Get('live')
  @Public()
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @Public()
  async ready() {
    const checks: HealthIndicatorFunction[] = [
      () => this.probe('eventStore', async () => void (await this.store.headPosition())),
    ];
    const lifecycle = this.lifecycle;
    if (lifecycle)
      checks.push(() =>
        this.probe('redis', async () => {
          if (!(await lifecycle.lifecycle.redisReady())) throw new Error('redis not ready');
        }),
      );
    const readStore = this.readStore;
    if (readStore) checks.push(() => this.probe('readStore', () => readStore.ping()));
    try {
      return { status: 'ok', checks: states((await this.health.check(checks)).details) };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const details = states((error.getResponse() as HealthCheckResult).details);
      const down = Object.keys(details).filter((k) => details[k] !== 'up');
      throw new ApiError(
        'SERVICE_UNAVAILABLE',
        `Not ready: ${down.join(', ')} not reachable.`,
        details,
      );
    }
  }

  private async probe(key: string, check: () => Promise<void>) {
    const session = this.indicators.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS);
        }),
      ]);
      return session.up();
    } catch {
      return session.down();
    } finally {
      clearTimeout(timer);
    }
  }
}

const states = (details: HealthCheckResult['details']): Record<string, string> =>
  Object.fromEntries(Object.entries(details).map(([k, v]) => [k, v.status]));
