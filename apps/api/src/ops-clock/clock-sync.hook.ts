import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { CLOCK } from '@app/infrastructure';
import { type Clock, ControlledClock } from '@app/platform';

/**
 * With a shared controlled clock, every request first takes up the reading stored by whichever
 * process moved the clock last: a move through one api is what the next request to any api sees.
 * One small read per request, in controlled mode only (tests and staging).
 */
@Injectable()
export class ClockSyncHook implements OnModuleInit {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly host: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const clock = this.clock;
    if (!(clock instanceof ControlledClock) || !clock.shared) return;
    const fastify = this.host.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('onRequest', async () => {
      await clock.sync();
    });
  }
}
