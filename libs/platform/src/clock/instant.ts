import { DateTime } from 'luxon';
import { PlatformError } from '../errors/platform.error';

/** What clocks accept as a point in time: a luxon DateTime, a JS Date or an ISO 8601 string. */
export type InstantInput = DateTime | Date | string;

/**
 * Normalises an instant to a UTC DateTime. An ISO string without an offset is read as UTC, not
 * as the machine's local zone, so the same input means the same instant on every host.
 */
export function toUtcInstant(input: InstantInput): DateTime {
  let parsed: DateTime;
  if (typeof input === 'string') {
    parsed = DateTime.fromISO(input, { zone: 'utc', setZone: false });
  } else if (input instanceof Date) {
    parsed = DateTime.fromJSDate(input);
  } else {
    parsed = input;
  }
  if (!parsed.isValid) {
    const why = parsed.invalidExplanation ?? parsed.invalidReason ?? 'unparseable';
    throw new PlatformError(
      'CLOCK_INVALID_INSTANT',
      `Not a valid instant (${String(input)}): ${why}.`,
    );
  }
  return parsed.toUTC();
}
