import { DateTime } from 'luxon';
import type { Clock } from './clock';

/** Real wall-clock time, in UTC. */
export class SystemClock implements Clock {
  now(): DateTime {
    return DateTime.utc();
  }
}
