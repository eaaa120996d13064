import { FixedClock } from './fixed.clock';
import { SystemClock } from './system.clock';

describe('FixedClock', () => {
  it('reads the same UTC instant until set, and may be set backwards (unit tests only)', () => {
    const clock = new FixedClock('2026-12-31T23:00:00.000Z');
    expect(clock.now().toISO()).toBe('2026-12-31T23:00:00.000Z');
    expect(clock.now().equals(clock.now())).toBe(true);
    clock.set('2020-01-01T00:00:00+02:00');
    expect(clock.now().toISO()).toBe('2019-12-31T22:00:00.000Z');
  });
});

describe('SystemClock', () => {
  it('reads real time in UTC', () => {
    const before = Date.now();
    const reading = new SystemClock().now();
    expect(reading.zoneName).toBe('UTC');
    expect(reading.toMillis()).toBeGreaterThanOrEqual(before);
    expect(reading.toMillis()).toBeLessThanOrEqual(Date.now());
  });
});
