import { lifecycleOptionsFromEnv } from './lifecycle-settings';

describe('lifecycle settings from the environment', () => {
  it('reads the tuning knobs, all optional', () => {
    expect(lifecycleOptionsFromEnv({})).toEqual({});
    expect(
      lifecycleOptionsFromEnv({
        LIFECYCLE_QUEUE_PREFIX: 'staging',
        LIFECYCLE_CONCURRENCY: '200',
        LIFECYCLE_LOCK_DURATION_MS: '1000',
        LIFECYCLE_STALLED_INTERVAL_MS: '500',
        LIFECYCLE_SCHEDULER: 'off',
        UNRELATED: 'x',
      }),
    ).toEqual({
      prefix: 'staging',
      concurrency: 200,
      lockDurationMs: 1000,
      stalledIntervalMs: 500,
      scheduler: false,
    });
  });

  it('treats blank values as unset and refuses bad ones with the variable named', () => {
    expect(lifecycleOptionsFromEnv({ LIFECYCLE_CONCURRENCY: ' ' })).toEqual({});
    expect(() => lifecycleOptionsFromEnv({ LIFECYCLE_CONCURRENCY: '0' })).toThrow(
      /LIFECYCLE_CONCURRENCY/,
    );
    expect(() => lifecycleOptionsFromEnv({ LIFECYCLE_QUEUE_PREFIX: 'a:b' })).toThrow(
      /LIFECYCLE_QUEUE_PREFIX/,
    );
    expect(() => lifecycleOptionsFromEnv({ LIFECYCLE_SCHEDULER: 'maybe' })).toThrow(
      /LIFECYCLE_SCHEDULER/,
    );
  });
});
