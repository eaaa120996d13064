import type { DateTime } from 'luxon';
import { PlatformError } from '../errors/platform.error';
import type { Clock } from './clock';
import type { ClockStore } from './clock-store.port';
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
 *
 * With a ClockStore the reading is shared by every process on that store: a move is written to
 * the store first (which refuses a move backwards against the stored reading, whoever made it),
 * and sync() takes up a later reading another process stored. now() stays synchronous: it is this
 * process's last known reading, which may lag a move made elsewhere until the next sync() but is
 * never ahead of the store, so nothing runs early because of it. The api syncs before each
 * request, the workers before each job.
 */
export class ControlledClock implements Clock {
  private current: DateTime;
  private readonly listeners: AdvanceListener[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    start: InstantInput,
    private readonly store: ClockStore | null = null,
  ) {
    this.current = toUtcInstant(start);
  }

  /**
   * A clock on a shared store: resumes from the stored reading; `start` (CLOCK_START, or the
   * system time) is used only when the store holds none yet. `notBefore` (the time of the last
   * event in the log) is a floor either way: the clock never reads earlier than an event already
   * written, e.g. when a log written in real time is switched to the controlled clock.
   */
  static async resume(
    store: ClockStore,
    start: InstantInput,
    notBefore: InstantInput | null = null,
  ): Promise<ControlledClock> {
    const stored = await store.load();
    const clock = new ControlledClock(stored ?? start, store);
    const floor = notBefore === null ? null : toUtcInstant(notBefore);
    if (floor && floor > clock.current) clock.current = floor;
    if (!stored || clock.current > stored) clock.current = await store.moveTo(clock.current);
    return clock;
  }

  now(): DateTime {
    return this.current;
  }

  /** Whether the reading lives in a store shared with other processes. */
  get shared(): boolean {
    return this.store !== null;
  }

  /** Closes the store (the process is shutting down). */
  async close(): Promise<void> {
    await this.store?.close();
  }

  /** Takes up the stored reading if another process moved the clock further (never goes back). */
  async sync(): Promise<DateTime> {
    if (!this.store) return this.current;
    const stored = await this.store.load();
    if (stored && stored > this.current) this.current = stored;
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
    await this.sync();
    const from = this.current;
    if (to < from) throw new ClockBackwardsError(from, to);
    // Stored before anyone acts on it: a process that restarts, or reads the clock elsewhere,
    // never sees an earlier time than one this process has used.
    this.current = this.store ? await this.store.moveTo(to) : to;
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
