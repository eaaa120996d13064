import fc from 'fast-check';
import { DateTime } from 'luxon';
import { inZone, isBefore, normalizeInstant, parseInstant, toInstant } from './time';

/** luxon's own parser: what the fast path for canonical instants must agree with. */
const luxon = (iso: string) => DateTime.fromISO(iso, { setZone: true });

const canonical = fc
  .date({ min: new Date('0100-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z') })
  .filter((d) => !Number.isNaN(d.getTime()))
  .map((d) => d.toISOString());

describe('instants (D4, D5): the canonical fast path agrees with luxon', () => {
  it('D4: every canonical instant parses to the same DateTime as luxon (instant, zone, calendar fields)', () => {
    fc.assert(
      fc.property(canonical, (iso) => {
        const fast = parseInstant(iso);
        const slow = luxon(iso);
        expect(fast.equals(slow)).toBe(true);
        expect(toInstant(fast)).toBe(iso);
      }),
      { numRuns: 2000 },
    );
  });

  it('D4: seen in a zone, an instant has the same wall time and offset as through luxon', () => {
    const zones = ['Europe/Rome', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu'];
    fc.assert(
      fc.property(canonical, fc.constantFrom(...zones), (iso, zone) => {
        const fast = inZone(iso, zone);
        const slow = luxon(iso).setZone(zone);
        expect(fast.toISO()).toBe(slow.toISO());
        expect(fast.offset).toBe(slow.offset);
      }),
      { numRuns: 1000 },
    );
  });

  it('D4: order of instants is the order of their epoch milliseconds', () => {
    fc.assert(
      fc.property(canonical, canonical, (a, b) => {
        expect(isBefore(a, b)).toBe(luxon(a).toMillis() < luxon(b).toMillis());
      }),
    );
  });

  it.each([
    '2026-02-29T00:00:00.000Z', // not a leap year
    '2026-02-30T12:00:00.000Z',
    '2026-04-31T12:00:00.000Z',
    '2026-13-01T00:00:00.000Z',
    '2026-00-10T00:00:00.000Z',
    '2026-01-00T00:00:00.000Z',
    '2026-01-01T25:00:00.000Z',
    '2026-01-01T23:60:00.000Z',
    'not a date',
  ])('a day or time that does not exist is refused, as luxon refuses it: %s', (iso) => {
    expect(luxon(iso).isValid).toBe(false);
    expect(() => parseInstant(iso)).toThrow(/not an ISO 8601 instant/);
  });

  it('a leap day of a leap year and instants with an offset still parse (offset kept, as before)', () => {
    expect(toInstant(parseInstant('2028-02-29T10:00:00.000Z'))).toBe('2028-02-29T10:00:00.000Z');
    const withOffset = parseInstant('2026-03-29T02:30:00+02:00');
    expect(withOffset.offset).toBe(120);
    expect(toInstant(withOffset)).toBe('2026-03-29T00:30:00.000Z');
  });
});

describe('normalizeInstant: the text read models keep for a stored instant', () => {
  it('keeps a canonical instant as it is (the text order of such instants is their time order)', () => {
    fc.assert(fc.property(canonical, (iso) => normalizeInstant(iso) === iso));
  });

  it('writes other readable instants in the canonical form, offset applied', () => {
    expect(normalizeInstant('2026-03-29T02:30:00+02:00')).toBe('2026-03-29T00:30:00.000Z');
    expect(normalizeInstant('2026-12-31T23:00:00Z')).toBe('2026-12-31T23:00:00.000Z');
  });

  it("keeps text it cannot read, and gives '' for anything but a string", () => {
    expect(normalizeInstant('not a date')).toBe('not a date');
    expect(normalizeInstant(undefined)).toBe('');
    expect(normalizeInstant(1767222000000)).toBe('');
    expect(normalizeInstant(null)).toBe('');
  });
});
