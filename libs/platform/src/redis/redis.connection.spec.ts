import { reconnectDelayMs } from './redis.connection';

describe('reconnectDelayMs', () => {
  it('doubles from 50 ms and stops at 1 s, with up to 100 ms of jitter', () => {
    const range = (attempt: number) => {
      const seen = Array.from({ length: 200 }, () => reconnectDelayMs(attempt));
      return [Math.min(...seen), Math.max(...seen)];
    };
    const within = (attempt: number, base: number) => {
      const [low, high] = range(attempt);
      expect(low).toBeGreaterThanOrEqual(base);
      expect(high).toBeLessThan(base + 100);
    };
    within(1, 50);
    within(2, 100);
    within(5, 800);
    within(6, 1000);
    within(40, 1000);
  });
});
