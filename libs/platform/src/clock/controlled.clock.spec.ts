import { DateTime } from 'luxon';
import { isPlatformError } from '../errors/platform.error';
import { ClockBackwardsError, ClockListenerError, ControlledClock } from './controlled.clock';

const START = '2026-01-31T23:00:00.000Z';

describe('ControlledClock', () => {
  it('starts at the given instant, in UTC, whatever the input offset', () => {
    const clock = new ControlledClock('2026-02-01T00:00:00+01:00');
    expect(clock.now().toISO()).toBe(START);
    expect(clock.now().zoneName).toBe('UTC');
  });

  it('reads an ISO string without offset as UTC, not the host zone', () => {
    expect(new ControlledClock('2026-01-31T23:00:00').now().toISO()).toBe(START);
  });

  it('rejects an unparseable start with CLOCK_INVALID_INSTANT', () => {
    expect(() => new ControlledClock('not a date')).toThrow(
      expect.objectContaining({ code: 'CLOCK_INVALID_INSTANT' }),
    );
  });

  it('advances forward and stays put between advances', async () => {
    const clock = new ControlledClock(START);
    await clock.advanceTo('2026-05-01T00:00:00Z');
    expect(clock.now().toISO()).toBe('2026-05-01T00:00:00.000Z');
    expect(clock.now().toISO()).toBe('2026-05-01T00:00:00.000Z');
  });

  it('refuses to move backwards with CLOCK_BACKWARDS and keeps its reading', async () => {
    const clock = new ControlledClock(START);
    const attempt = clock.advanceTo('2026-01-31T22:59:59.999Z');
    await expect(attempt).rejects.toBeInstanceOf(ClockBackwardsError);
    await attempt.catch((error: unknown) =>
      expect(isPlatformError(error, 'CLOCK_BACKWARDS')).toBe(true),
    );
    expect(clock.now().toISO()).toBe(START);
  });

  it('allows advancing to the current instant (a no-op move that still runs listeners)', async () => {
    const clock = new ControlledClock(START);
    const seen: string[] = [];
    clock.onAdvance((from, to) => void seen.push(`${from.toISO()}>${to.toISO()}`));
    await clock.advanceTo(START);
    expect(seen).toEqual([`${START}>${START}`]);
  });

  it('awaits listeners in registration order before advanceTo resolves, with the new time already set', async () => {
    const clock = new ControlledClock(START);
    const log: string[] = [];
    clock.onAdvance(async (from, to) => {
      await new Promise((r) => setTimeout(r, 20));
      log.push(`first ${from.toISO()} -> ${to.toISO()} now=${clock.now().toISO()}`);
    });
    clock.onAdvance(async () => {
      log.push('second');
    });
    await clock.advanceTo('2026-03-01T00:00:00Z');
    expect(log).toEqual([
      `first ${START} -> 2026-03-01T00:00:00.000Z now=2026-03-01T00:00:00.000Z`,
      'second',
    ]);
  });

  it("serialises concurrent advances: the second waits for the first one's listeners", async () => {
    const clock = new ControlledClock(START);
    const log: string[] = [];
    clock.onAdvance(async (_from, to) => {
      log.push(`start ${to.toISO()}`);
      await new Promise((r) => setTimeout(r, 10));
      log.push(`end ${to.toISO()}`);
    });
    const a = clock.advanceTo('2026-02-01T00:00:00Z');
    const b = clock.advanceTo('2026-02-02T00:00:00Z');
    await Promise.all([a, b]);
    expect(log).toEqual([
      'start 2026-02-01T00:00:00.000Z',
      'end 2026-02-01T00:00:00.000Z',
      'start 2026-02-02T00:00:00.000Z',
      'end 2026-02-02T00:00:00.000Z',
    ]);
  });

  it('checks a queued advance against the time the previous one set', async () => {
    const clock = new ControlledClock(START);
    const forward = clock.advanceTo('2026-06-01T00:00:00Z');
    const back = clock.advanceTo('2026-03-01T00:00:00Z');
    await expect(forward).resolves.toBeInstanceOf(DateTime);
    await expect(back).rejects.toMatchObject({ code: 'CLOCK_BACKWARDS' });
    // A rejected advance does not jam the queue.
    await clock.advanceTo('2026-07-01T00:00:00Z');
    expect(clock.now().toISO()).toBe('2026-07-01T00:00:00.000Z');
  });

  it('runs every listener even if one fails, keeps the new time, then rejects with CLOCK_LISTENER_FAILED', async () => {
    const clock = new ControlledClock(START);
    const ran: string[] = [];
    clock.onAdvance(() => {
      ran.push('a');
      throw new Error('boom');
    });
    clock.onAdvance(() => void ran.push('b'));
    const attempt = clock.advanceTo('2026-02-01T00:00:00Z');
    await expect(attempt).rejects.toBeInstanceOf(ClockListenerError);
    await expect(attempt).rejects.toMatchObject({
      code: 'CLOCK_LISTENER_FAILED',
      message: expect.stringContaining('boom'),
    });
    expect(ran).toEqual(['a', 'b']);
    expect(clock.now().toISO()).toBe('2026-02-01T00:00:00.000Z');
  });

  it('stops calling a listener once unsubscribed', async () => {
    const clock = new ControlledClock(START);
    const calls: number[] = [];
    const off = clock.onAdvance(() => void calls.push(1));
    await clock.advanceTo('2026-02-01T00:00:00Z');
    off();
    await clock.advanceTo('2026-02-02T00:00:00Z');
    expect(calls).toEqual([1]);
  });

  it('accepts Date and DateTime inputs in any zone', async () => {
    const clock = new ControlledClock(new Date(START));
    await clock.advanceTo(DateTime.fromISO('2026-02-01T09:00:00', { zone: 'Asia/Tokyo' }));
    expect(clock.now().toISO()).toBe('2026-02-01T00:00:00.000Z');
  });
});
