import { Inject, Injectable, Optional, ServiceUnavailableException } from '@nestjs/common';
import {
  type HealthCheckResult,
  HealthCheckService,
  type HealthIndicatorFunction,
  HealthIndicatorService,
} from '@nestjs/terminus';
import type { EventStore } from '@app/event-store';
import { RAW_EVENT_STORE } from '@app/infrastructure';
import { ShutdownState } from '@app/platform';
import { ReadStore } from '@app/read-models';
import { LifecycleService } from '@app/scheduling';

/** A dependency that does not answer within this is down (readiness must answer quickly). */
export const READINESS_PROBE_TIMEOUT_MS = 2000;

export interface ReadinessReport {
  /** Every check up. */
  ready: boolean;
  /**
   * State of each check by name (`eventStore`, `redis`, `readStore`): `up` or `down`; while the
   * process shuts down only `shutdown: 'in progress'` (the dependencies are not probed then).
   */
  checks: Record<string, string>;
  /**
   * Names the checks that are not up, for a person: `Not ready: redis not reachable.`, or
   * `Not ready: shutting down.`
   */
  message: string;
}

/**
 * Readiness of a process with @nestjs/terminus: event store, Redis (when the lifecycle runs in
 * the process) and read store (when the read models are there), each probed in parallel with a
 * 2 s bound. Shared by the api's GET /health/ready and the standalone worker's health port, which
 * each answer it in the error shape of docs/http-api.md. From the moment the process receives SIGTERM or
 * SIGINT (ShutdownState) it is not ready, whatever the checks would say, so that Kubernetes stops
 * routing to it while it drains (SHUTDOWN_DRAIN_MS); liveness is not affected.
 */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(RAW_EVENT_STORE) private readonly store: EventStore,
    // Absent when the app runs without the lifecycle (no Redis to check then).
    @Optional() private readonly lifecycle?: LifecycleService,
    // Absent when the app runs without the read models.
    @Optional() private readonly readStore?: ReadStore,
    // Provided by InfrastructureModule; optional for modules assembled without it.
    @Optional() private readonly shutdown?: ShutdownState,
  ) {}

  async check(): Promise<ReadinessReport> {
    if (this.shutdown?.shuttingDown)
      return {
        ready: false,
        checks: { shutdown: 'in progress' },
        message: 'Not ready: shutting down.',
      };
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
      return {
        ready: true,
        checks: states((await this.health.check(checks)).details),
        message: 'ok',
      };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const details = states((error.getResponse() as HealthCheckResult).details);
      const down = Object.keys(details).filter((k) => details[k] !== 'up');
      return {
        ready: false,
        checks: details,
        message: `Not ready: ${down.join(', ')} not reachable.`,
      };
    }
  }

  private async probe(key: string, check: () => Promise<void>) {
    const session = this.indicators.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), READINESS_PROBE_TIMEOUT_MS);
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
