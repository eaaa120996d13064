import { z } from 'zod';
import { type Role, ROLES } from '@app/domain';

/** Ids end up in stream names and BullMQ job ids: no ':' (BullMQ), no spaces, bounded length. */
export const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, _ or -');

/** docs/domain.md: any role but the three named ones counts as `user` (and may be refused, D6). */
export const roleSchema = z
  .string()
  .min(1)
  .max(64)
  .transform((r): Role => ((ROLES as readonly string[]).includes(r) ? (r as Role) : 'user'));

/**
 * Characters text must not carry into the audit trail: C0 and C1 controls (tabs and line breaks
 * allowed in free text only) and bidirectional overrides and isolates, which can make a log line
 * read differently from what it holds.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const LINE_BREAKS = /[\t\n\r]/;
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

/** Free text (a comment, a reason, a note): line breaks allowed, nothing else invisible. */
export const freeTextSchema = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !CONTROLS.test(s) && !BIDI.test(s), {
      message: 'must not contain control or bidirectional-override characters',
    });

/** A one-line value (an actor id, an address): no controls, no line breaks, no bidi overrides. */
export const lineTextSchema = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !CONTROLS.test(s) && !LINE_BREAKS.test(s) && !BIDI.test(s), {
      message: 'must be one line without control or bidirectional-override characters',
    });

export const actorSchema = z.strictObject({
  actorId: lineTextSchema(128),
  role: roleSchema,
});

/** Instants the service takes: far enough from both ends that every derived date stays ISO 8601. */
const EARLIEST = Date.parse('1970-01-01T00:00:00Z');
const LATEST = Date.parse('2100-01-01T00:00:00Z');

/** ISO 8601 with an explicit offset or Z (docs/http-api.md: "times are ISO 8601 with offset"), 1970–2099. */
export const instantSchema = z.iso.datetime({ offset: true }).refine(
  (s) => {
    const ms = Date.parse(s);
    return ms >= EARLIEST && ms < LATEST;
  },
  { message: 'must lie between 1970 and 2099' },
);

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
/** Decimal places of a currency's minor unit (EUR 2, JPY 0, BHD 3). */
const minorUnits = (currency: string): number =>
  new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
    .maximumFractionDigits ?? 2;

/** Money as docs/http-api.md writes it, with no more decimals than the currency has. */
export const moneySchema = z
  .strictObject({
    amount: z
      .string()
      .regex(/^-?\d{1,12}(\.\d{1,4})?$/, 'must be a decimal string such as "12.50"'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "EUR"')
      .refine((c) => CURRENCIES.has(c), { message: 'is not an ISO 4217 currency' }),
  })
  .refine(
    (m) =>
      !CURRENCIES.has(m.currency) ||
      (m.amount.split('.')[1] ?? '').length <= minorUnits(m.currency),
    { message: 'has more decimals than the currency has', path: ['amount'] },
  );

/** An IANA time zone, canonicalised ("europe/rome" → "Europe/Rome"); unknown zones refused. */
export const timeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .transform((zone, ctx) => {
    try {
      return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not an IANA time zone such as "Europe/Rome"' });
      return z.NEVER;
    }
  });

/** A whole number in a query string: decimal digits only (no "0x10", "1e2", " 5"). */
export const decimalParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, 'must be a whole number in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    // What the document says: an integer in a range (the query string carries it as digits).
    .meta({ type: 'integer', minimum: min, maximum: max, pattern: undefined });
