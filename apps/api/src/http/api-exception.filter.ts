import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Inject,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { DomainError } from '@app/domain';
import { LOGGER } from '@app/infrastructure';
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

/** The client closed the connection while its request was still arriving (Node's 'aborted'). */
const isClientAbort = (e: unknown): boolean => {
  // Node's own error (not `instanceof` this realm's Error under a test runner): checked by shape.
  const error = e as { message?: unknown; code?: unknown } | null;
  return error?.message === 'aborted' && error.code === 'ECONNRESET';
};

/** The one place where errors become HTTP responses in the shape of docs/http-api.md. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly log: Logger;

  constructor(@Inject(LOGGER) logger: Logger) {
    this.log = logger.child({ component: 'http' });
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    // A client going away is routine, not a server error: one info line, and an answer in the
    // API's shape that nobody will read (Fastify would otherwise close the request with a 500).
    if (isClientAbort(exception)) {
      this.log.info(
        { requestId: reply.request.id },
        'client closed the connection before its request arrived',
      );
      void reply
        .status(400)
        .header('content-type', 'application/json; charset=utf-8')
        .send({
          error: { code: 'VALIDATION_FAILED', message: 'The request did not arrive whole.' },
        });
      return;
    }
    const { status, body, unexpected } = toErrorBody(exception);
    // One JSON log line, the stack inside it (never the request's body or headers).
    if (unexpected)
      this.log.error({ err: exception, requestId: reply.request.id }, 'unexpected error');
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
