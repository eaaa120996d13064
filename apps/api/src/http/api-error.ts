/** Error codes of docs/http-api.md with their HTTP status: the single table every response is built from. */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN_ROLE: 403,
  FORBIDDEN_SCOPE: 403,
  NOT_FOUND: 404,
  INVALID_STATE: 409,
  CONCURRENCY_CONFLICT: 409,
  CLOCK_BACKWARDS: 409,
  /** The request did not arrive within the server's request timeout. */
  REQUEST_TIMEOUT: 408,
  /** D10: an erasure of an account under a legal hold (recorded as ErasureRefused). */
  LEGAL_HOLD: 409,
  PAYLOAD_TOO_LARGE: 413,
  /** A path parameter longer than the router takes. */
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  CONTACT_SUPPORT: 422,
  OUTSTANDING_BALANCE: 422,
  TRIAL_NEEDS_NO_CANCELLATION: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  HEADERS_TOO_LARGE: 431,
  SERVICE_UNAVAILABLE: 503,
  /** `?minPosition=` was not reached by the read models within the bounded wait (Retry-After). */
  READ_MODEL_BEHIND: 503,
  INTERNAL: 500,
} as const;

export type ApiErrorCode = keyof typeof ERROR_STATUS;

export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_STATUS, code);
}

/** An error the HTTP layer raises itself (auth, validation); domain errors come as DomainError. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; details?: Record<string, unknown> };
}
