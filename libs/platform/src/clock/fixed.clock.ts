import type { DateTime } from 'luxon';
import type { Clock } from './clock';
import { toUtcInstant, type InstantInput } from './instant';

/**
 * A clock that reads the same instant until told otherwise. For unit tests only: unlike
 * ControlledClock it may be set backwards and runs no listeners.
 */
export class FixedClock implements Clock {
  private current: DateTime;

  constructor(instant: InstantInput) {
    this.current = toUtcInstant(instant);
  }

  now(): DateTime {
    return this.current;
  }

  set(instant: InstantInput): void {
    this.current = toUtcInstant(instant);
  }
}
