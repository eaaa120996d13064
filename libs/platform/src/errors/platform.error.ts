/**
 * Stable codes for every failure this library raises. Callers branch on `code`, never on the
 * message text, so messages can stay human and change freely.
 */
export type PlatformErrorCode =
  | 'CLOCK_BACKWARDS'
  | 'CLOCK_INVALID_INSTANT'
  | 'CLOCK_LISTENER_FAILED'
  | 'CONFIG_INVALID'
  | 'REDIS_SERVER_NOT_FOUND'
  | 'REDIS_START_FAILED'
  | 'REDIS_PORT_IN_USE'
  | 'REDIS_EVICTION_POLICY';

export class PlatformError extends Error {
  constructor(
    readonly code: PlatformErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export function isPlatformError(error: unknown, code?: PlatformErrorCode): error is PlatformError {
  return error instanceof PlatformError && (code === undefined || error.code === code);
}
