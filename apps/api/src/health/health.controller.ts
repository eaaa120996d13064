import { Controller, Get, Inject, Optional } from '@nestjs/common';
import type { EventStore } from '@app/event-store';
import { RAW_EVENT_STORE } from '@app/infrastructure';
import { LifecycleService } from '@app/scheduling';
import { ApiError } from '../http/api-error';
import { Public } from '../http/auth';

/** Liveness and readiness (API.md). Readiness grows as parts arrive: event store now. */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(RAW_EVENT_STORE) private readonly store: EventStore,
    // Absent when the app runs without the lifecycle (no Redis to check then).
    @Optional() private readonly lifecycle?: LifecycleService,
  ) {}

  @Get('live')
  @Public()
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @Public()
  async ready() {
    try {
      await this.store.headPosition();
    } catch {
      throw new ApiError('SERVICE_UNAVAILABLE', 'The event store is not reachable.', {
        eventStore: 'down',
      });
    }
    if (this.lifecycle && !(await this.lifecycle.lifecycle.redisReady()))
      throw new ApiError('SERVICE_UNAVAILABLE', 'Redis (the job queue) is not reachable.', {
        eventStore: 'up',
        redis: 'down',
      });
    return {
      status: 'ok',
      checks: { eventStore: 'up', ...(this.lifecycle ? { redis: 'up' } : {}) },
    };
  }
}
