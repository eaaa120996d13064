/** Errors of the command path that are not domain decisions; codes are those of docs/http-api.md. */
export class ConcurrencyConflictError extends Error {
  readonly code = 'CONCURRENCY_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly attempts: number,
  ) {
    super(`Stream ${streamId} kept changing under ${attempts} attempts; retry the request.`);
    this.name = 'ConcurrencyConflictError';
  }
}

export class IdempotencyKeyReusedError extends Error {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor(readonly commandId: string) {
    super('This Idempotency-Key was already used with a different request.');
    this.name = 'IdempotencyKeyReusedError';
  }
}
