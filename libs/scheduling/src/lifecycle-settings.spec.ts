import { horizonOf, lifecycleOptionsFromEnv } from './lifecycle-settings';

describe('lifecycle settings from the environment', () => {
  it('reads the tuning knobs, all optional', () => {
    expect(lifecycleOptionsFromEnv({})).toEqual({});
    expect(
      lifecycleOptionsFromEnv({
        LIFECYCLE_QUEUE_PREFIX: 'staging',
        LIFECYCLE_CONCURRENCY: '500',
        LIFECYCLE_PURGE_CONCURRENCY: '20',
        LIFECYCLE_LOCK_DURATION_MS: '1000',
        LIFECYCLE_STALLED_INTERVAL_MS: '500',
        LIFECYCLE_SCHEDULER: 'off',
        LIFECYCLE_HORIZON_HOURS: '24',
        LIFECYCLE_LOADER_INTERVAL_MS: '30000',
        UNRELATED: 'x',
      }),
    ).toEqual({
      prefix: 'staging',
      concurrency: 500,
      purgeConcurrency: 20,
      lockDurationMs: 1000,
      stalledIntervalMs: 500,
      scheduler: false,
      horizonMs: 24 * 3_600_000,
      loaderIntervalMs: 30_000,
    });
  });

  it('scheduling at scale: the horizon defaults to 48 h, the loader to a minute, and refuses an interval over a quarter of the horizon', () => {
    expect(horizonOf({})).toEqual({ horizonMs: 48 * 3_600_000, loaderIntervalMs: 60_000 });
    expect(horizonOf({ horizonMs: 60_000 })).toEqual({
      horizonMs: 60_000,
      loaderIntervalMs: 15_000,
    });
    expect(() =>
      lifecycleOptionsFromEnv({
        LIFECYCLE_HORIZON_HOURS: '1',
        LIFECYCLE_LOADER_INTERVAL_MS: '900001',
      }),
    ).toThrow(/LIFECYCLE_LOADER_INTERVAL_MS/);
    expect(() => lifecycleOptionsFromEnv({ LIFECYCLE_HORIZON_HOURS: '0' })).toThrow(
      /LIFECYCLE_HORIZON_HOURS/,
    );
  });

  it('treats blank values as unset and refuses bad ones with the variable named', () => {
    expect(lifecycleOptionsFromEnv({ LIFECYCLE_CONCURRENCY: ' ' })).toEqual({});
    expect(() => lifecycleOptionsFromEnv({ LIFECYCLE_CONCURRENCY: '0' })).toThrow(
      /LIFECYCLE_CONCURRENCY/,
    );
    expect(() => lifecycleOptionsFromEnv({ LIFECYCLE_PURGE_CONCURRENCY: '1.5' })).toThrow(
      /LIFECYCLE_PURGE_CONCURRENCY/,
    );
    expect(() => lifecycleOptionsFromEnv({ LIFECYCLE_QUEUE_PREFIX: 'a:b' })).toThrow(
      /LIFECYCLE_QUEUE_PREFIX/,
    );
    expect(() => lifecycleOptionsFromEnv({ LIFECYCLE_SCHEDULER: 'maybe' })).toThrow(
      /LIFECYCLE_SCHEDULER/,
    );
  });
});
