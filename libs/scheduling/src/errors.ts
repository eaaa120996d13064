/** Start-up errors of the lifecycle part; the message says what to do. */
export class LifecycleStartError extends Error {
  constructor(
    readonly code:
      | 'REDIS_UNREACHABLE'
      | 'REDIS_URL_REQUIRED'
      /** SIGTERM/SIGINT arrived while the start-up waited for Redis. */
      | 'SHUTDOWN',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LifecycleStartError';
  }
}
