import pino from 'pino';
import { ShutdownState, shutdownOnSignals } from './shutdown-state';

/** shutdownOnSignals with a signal of its own (SIGUSR2, emitted in-process) and a fake exit. */
describe('shutdownOnSignals', () => {
  const logger = pino({ level: 'silent' });
  const signals = ['SIGUSR2'] as const;
  let remove: (() => void) | null = null;
  afterEach(() => remove?.());

  const setUp = (close: () => Promise<void>, drainMs = 0) => {
    const state = new ShutdownState();
    const exits: number[] = [];
    let exited!: () => void;
    const firstExit = new Promise<void>((resolve) => (exited = resolve));
    remove = shutdownOnSignals({
      state,
      drainMs,
      logger,
      close,
      signals,
      exit: (code) => {
        exits.push(code);
        exited();
      },
    });
    return { state, exits, firstExit };
  };

  it('the first signal marks the process as shutting down at once, closes after the drain, exits 0', async () => {
    let closedAt: number | null = null;
    const started = Date.now();
    const { state, exits, firstExit } = setUp(async () => {
      closedAt = Date.now();
    }, 100);
    process.emit('SIGUSR2');
    expect(state.shuttingDown).toBe(true);
    expect(state.signal.aborted).toBe(true);
    expect(closedAt).toBeNull();
    await firstExit;
    expect(closedAt! - started).toBeGreaterThanOrEqual(90);
    expect(exits).toEqual([0]);
  });

  it('a second signal while the shutdown waits exits at once with code 1', async () => {
    const { exits, firstExit } = setUp(() => new Promise<void>(() => undefined));
    process.emit('SIGUSR2');
    await new Promise((r) => setTimeout(r, 20));
    expect(exits).toEqual([]);
    process.emit('SIGUSR2');
    await firstExit;
    expect(exits).toEqual([1]);
  });

  it('a close that fails exits 1', async () => {
    const { exits, firstExit } = setUp(() => Promise.reject(new Error('store would not close')));
    process.emit('SIGUSR2');
    await firstExit;
    expect(exits).toEqual([1]);
  });
});
