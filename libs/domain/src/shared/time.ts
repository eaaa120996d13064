import { DateTime, IANAZone } from 'luxon';

/**
 * Instants travel as ISO 8601 strings in UTC with milliseconds ("2026-12-31T23:00:00.000Z"):
 * events are JSON, and one canonical form keeps them comparable as text and stable in hashes.
 */
export type Instant = string;

export function parseInstant(iso: string, what = 'instant'): DateTime {
  const dt = DateTime.fromISO(iso, { setZone: true });
  if (!dt.isValid)
    throw new TypeError(`${what} is not an ISO 8601 instant: ${JSON.stringify(iso)}`);
  return dt;
}

export function toInstant(dt: DateTime): Instant {
  const iso = dt.toUTC().toISO();
  if (iso === null) throw new TypeError('invalid DateTime');
  return iso;
}

/** The instant seen in the account's time zone; all calendar arithmetic happens there (D4). */
export function inZone(iso: Instant, timeZone: string): DateTime {
  // IANAZone.create caches zones; setZone(string) would validate the name through Intl each time.
  return parseInstant(iso).setZone(IANAZone.create(timeZone));
}

export function isValidTimeZone(timeZone: string): boolean {
  return IANAZone.isValidZone(timeZone);
}

export function isBefore(a: Instant, b: Instant): boolean {
  return parseInstant(a).toMillis() < parseInstant(b).toMillis();
}

export function isAtOrAfter(a: Instant, b: Instant): boolean {
  return !isBefore(a, b);
}
