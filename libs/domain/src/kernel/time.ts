import { DateTime, FixedOffsetZone, IANAZone } from 'luxon';

/**
 * Instants travel as ISO 8601 strings in UTC with milliseconds ("2026-12-31T23:00:00.000Z"):
 * events are JSON, and one canonical form keeps them comparable as text and stable in hashes.
 */
export type Instant = string;

/** The canonical form `toInstant` writes; almost every instant the domain parses is one. */
const CANONICAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/;
const UTC = FixedOffsetZone.utcInstance;

/**
 * Epoch milliseconds of a canonical instant, or null when `iso` is not one (or names a day that
 * does not exist, like Feb 30). Date.UTC is plain arithmetic here, not a clock read; checking the
 * fields it rolled over keeps the strictness of luxon's parser.
 */
function canonicalMillis(iso: string): number | null {
  const m = CANONICAL.exec(iso);
  if (!m) return null;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  if (d > days) return null;
  const epoch = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  // Date.UTC maps years 0–99 to 1900–1999; luxon does not. Leave those to luxon.
  return y < 100 ? null : epoch;
}

/**
 * The canonical text of an instant read back from storage (metadata's recordedAt, a purge's
 * purgedAt), as read models keep it so that its text order is time order: ISO UTC with
 * milliseconds. Text Date.parse cannot read is kept as it is; anything but a string is ''.
 * Date.parse and toISOString convert the given value; neither reads the clock.
 */
export function normalizeInstant(value: unknown): string {
  if (typeof value !== 'string') return '';
  const t = Date.parse(value);
  return Number.isNaN(t) ? value : new Date(t).toISOString();
}

export function parseInstant(iso: string, what = 'instant'): DateTime {
  // Fast path: luxon's general ISO parser is the hottest part of a command's decision.
  const epoch = canonicalMillis(iso);
  if (epoch !== null) return DateTime.fromMillis(epoch, { zone: UTC });
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
  const zone = IANAZone.create(timeZone);
  const epoch = canonicalMillis(iso);
  return epoch !== null ? DateTime.fromMillis(epoch, { zone }) : parseInstant(iso).setZone(zone);
}

export function isValidTimeZone(timeZone: string): boolean {
  return IANAZone.isValidZone(timeZone);
}

export function isBefore(a: Instant, b: Instant): boolean {
  return epochOf(a) < epochOf(b);
}

function epochOf(iso: Instant): number {
  return canonicalMillis(iso) ?? parseInstant(iso).toMillis();
}

export function isAtOrAfter(a: Instant, b: Instant): boolean {
  return !isBefore(a, b);
}

/** The same instant, whatever the text (offset, milliseconds written or not). */
export function isSameInstant(a: Instant, b: Instant): boolean {
  return epochOf(a) === epochOf(b);
}
