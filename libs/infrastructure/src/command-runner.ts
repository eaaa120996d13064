import { Inject, Injectable } from '@nestjs/common';
import type { Decider } from '@app/domain';
import type { EventStore } from '@app/event-store';
import type { Clock } from '@app/platform';
import { type CommandContext, handleCommand, type HandleResult } from '@app/command-handling';
import { CLOCK, EVENT_STORE } from './tokens';

/** handleCommand with the app's event store and clock: what every Nest command handler calls. */
@Injectable()
export class CommandRunner {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  run<C, E extends { type: string; data: object }, S>(
    streamId: string,
    decider: Decider<C, E, S>,
    command: C,
    context: CommandContext,
  ): Promise<HandleResult<S>> {
    return handleCommand(this.store, this.clock, streamId, decider, command, context);
  }

  /** The clock's reading as a domain instant: commands carry their time (D5). */
  now(): string {
    const iso = this.clock.now().toUTC().toISO();
    if (!iso) throw new Error('clock returned an invalid time');
    return iso;
  }
}
