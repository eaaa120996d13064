import type { DateTime } from 'luxon';

/**
 * The only way code outside the domain reads the time. Injecting it (instead of calling
 * DateTime.now()) is what lets tests and staging move time forward deterministically.
 * Readings are always in UTC; callers convert to a subscription's zone themselves.
 */
export interface Clock {
  now(): DateTime;
}

/** DI token for Nest modules: `@Inject(CLOCK) clock: Clock` (interfaces vanish at runtime). */
export const CLOCK = Symbol.for('app.platform.Clock');
