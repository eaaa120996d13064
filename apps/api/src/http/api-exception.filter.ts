import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Inject,
  Logger,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError } from '@app/domain';
import {
  ApiError,
  type ApiErrorCode,
  ERROR_STATUS,
  type ErrorBody,
  isApiErrorCode,
} from './api-error';

/** Fastify's own error codes for what a client got wrong before our code ran. */
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'VALIDATION_FAILED',
};

export function toErrorBody(exception: unknown): {
  status: number;
  body: ErrorBody;
  unexpected: boolean;
} {
  const make = (code: ApiErrorCode, message: string, details?: Record<string, unknown>) => ({
    status: ERROR_STATUS[code],
    body: { error: { code, message, ...(details ? { details } : {}) } },
    unexpected: false,
  });
  if (exception instanceof ApiError)
    return make(exception.code, exception.message, exception.details);
  if (exception instanceof DomainError)
    return make(exception.code, exception.message, exception.details);
  const e = exception as { code?: unknown; message?: unknown; statusCode?: unknown } | null;
  // Command-path errors (CONCURRENCY_CONFLICT, IDEMPOTENCY_KEY_REUSED, CLOCK_BACKWARDS) carry an API code.
  if (e && isApiErrorCode(e.code)) return make(e.code, String(e.message));
  if (e && typeof e.code === 'string' && FASTIFY_CODES[e.code]) {
    const code = FASTIFY_CODES[e.code]!;
    return make(
      code,
      code === 'PAYLOAD_TOO_LARGE' ? 'The request body is too large.' : String(e.message),
    );
  }
  if (e instanceof SyntaxError)
    return make('VALIDATION_FAILED', 'The request body is not valid JSON.');
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return make('NOT_FOUND', 'No such route.');
    if (status === 413) return make('PAYLOAD_TOO_LARGE', 'The request body is too large.');
    if (status >= 400 && status < 500) return make('VALIDATION_FAILED', exception.message);
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'Internal error; it has been logged.' } },
    unexpected: true,
  };
}

/** The one place where errors become HTTP responses in the shape of API.md. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(@Inject(Logger) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body, unexpected } = toErrorBody(exception);
    if (unexpected)
      this.logger.error(
        exception instanceof Error ? exception.stack : String(exception),
        'ApiExceptionFilter',
      );
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
