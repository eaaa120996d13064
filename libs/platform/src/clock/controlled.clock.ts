import type { DateTime } from 'luxon';
import { PlatformError } from '../errors/platform.error';
import type { Clock } from './clock';
import { toUtcInstant, type InstantInput } from './instant';

/** Called after the clock moved; awaited before advanceTo() resolves. */
export type AdvanceListener = (from: DateTime, to: DateTime) => Promise<void> | void;

export class ClockBackwardsError extends PlatformError {
  constructor(
    readonly current: DateTime,
    readonly requested: DateTime,
  ) {
    super(
      'CLOCK_BACKWARDS',
      `The controlled clock only moves forward: it reads ${current.toISO()}, ${requested.toISO()} is earlier.`,
    );
  }
}

export class ClockListenerError extends PlatformError {
  constructor(readonly failures: readonly unknown[]) {
    super(
      'CLOCK_LISTENER_FAILED',
      `The clock moved, but ${failures.length} advance listener(s) failed: ` +
        failures.map((f) => (f instanceof Error ? f.message : String(f))).join('; '),
      { cause: failures[0] },
    );
  }
}

/**
 * Time that only moves when told to (CLOCK_MODE=controlled: tests and staging).
 *
 * advanceTo() sets the new reading first, then awaits every listener in registration order, so
 * a scheduler listening here can run every job due by the new time before the caller (e.g. the
 * POST /v1/ops/clock handler) gets its answer. Advances are serialised: a second advanceTo()
 * waits for the first one's listeners, and is checked against the time the first one set.
 */
export class ControlledClock implements Clock {
  private current: DateTime;
  private readonly listeners: AdvanceListener[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(start: InstantInput) {
    this.current = toUtcInstant(start);
  }

  now(): DateTime {
    return this.current;
  }

  /** Registers a listener; returns a function that removes it. */
  onAdvance(listener: AdvanceListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /**
   * Moves the clock to `instant` (equal to now is allowed: listeners still run, which flushes
   * anything due). Rejects with ClockBackwardsError, without moving, if `instant` is earlier.
   * If listeners fail the clock stays moved (time does not un-happen), every listener still ran,
   * and the promise rejects with ClockListenerError.
   */
  advanceTo(instant: InstantInput): Promise<DateTime> {
    // Parse now so a bad input fails fast, not after the queued advances.
    const to = toUtcInstant(instant);
    const run = this.queue.then(() => this.move(to));
    // Keep the queue alive after a rejection; the caller sees the rejection through `run`.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async move(to: DateTime): Promise<DateTime> {
    const from = this.current;
    if (to < from) throw new ClockBackwardsError(from, to);
    this.current = to;
    const failures: unknown[] = [];
    // Copy: a listener may unsubscribe itself while we iterate.
    for (const listener of [...this.listeners]) {
      try {
        await listener(from, to);
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new ClockListenerError(failures);
    return to;
  }
}
