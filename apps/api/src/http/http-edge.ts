import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ApiErrorCode, ERROR_STATUS, type ErrorBody } from './api-error';

/**
 * The HTTP edge before any route runs: timeouts, content types, and the framework's own errors
 * answered in the API's error shape (never Fastify's or Node's, never echoing the URL).
 */

export interface EdgeTimeouts {
  /**
   * The whole request (headers and body) must arrive within this (a slow sender is cut off).
   * Node counts it until the request is received, not answered: a long-poll of GET /v1/events
   * (waitMs up to 30 s) is not cut by it.
   */
  requestTimeoutMs: number;
  /** The headers must arrive within this. */
  headersTimeoutMs: number;
  /**
   * An idle kept-alive connection closes after this: longer than the usual load balancer's idle
   * timeout (60 s), so the balancer, not the server, closes first.
   */
  keepAliveTimeoutMs: number;
  /** How often Node checks the two timeouts above (the cut comes up to this much later). */
  checkIntervalMs: number;
}

export const EDGE_TIMEOUTS: EdgeTimeouts = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 72_000,
  checkIntervalMs: 5_000,
};

const errorBody = (code: ApiErrorCode, message: string): ErrorBody => ({
  error: { code, message },
});

/** Fastify's router errors (bad percent-encoding, overlong parameter) in the API's shape. */
export function frameworkErrors(
  error: { code?: string },
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const [code, message]: [ApiErrorCode, string] =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? ['URI_TOO_LONG', 'A path parameter is longer than 100 characters.']
      : error.code === 'FST_ERR_BAD_URL'
        ? ['VALIDATION_FAILED', 'The URL is not valid: malformed percent-encoding.']
        : ['INTERNAL', 'Internal error; it has been logged.'];
  void reply
    .code(ERROR_STATUS[code])
    .header('content-type', 'application/json; charset=utf-8')
    .send(errorBody(code, message));
}

/**
 * What Node's HTTP parser refuses before Fastify sees a request (malformed HTTP, a missing Host,
 * oversized headers, a request too slow to arrive): answered in the API's shape, then closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message]: [ApiErrorCode, string] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['REQUEST_TIMEOUT', 'The request did not arrive in time.']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? ['HEADERS_TOO_LARGE', 'The request headers are too large.']
        : ['VALIDATION_FAILED', 'Malformed HTTP request.'];
  const status = ERROR_STATUS[code];
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${code.replaceAll('_', ' ')}\r\nConnection: close\r\n` +
        `Content-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  socket.destroy();
}

/**
 * HTTP/1.1 requires a Host header. Node refuses a request without one in a shape of its own, so
 * the server leaves the check to this hook (`requireHostHeader: false`), which answers in ours.
 */
export function requireHost(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.headers.host || request.raw.httpVersion === '1.0') return done();
    void reply
      .code(400)
      .header('connection', 'close')
      .header('content-type', 'application/json; charset=utf-8')
      .send(errorBody('VALIDATION_FAILED', 'An HTTP/1.1 request must carry a Host header.'));
  });
}

/** `application/json` (a charset or other parameters allowed). */
const JSON_MEDIA_TYPE = /^application\/json\s*(?:;|$)/i;

/**
 * JSON everywhere: a request that carries a body in another type (form, XML, multipart, text,
 * none) is 415 UNSUPPORTED_MEDIA_TYPE before anything parses it.
 */
export function requireJsonBodies(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const length = request.headers['content-length'];
    const hasBody =
      request.headers['transfer-encoding'] !== undefined ||
      (length !== undefined && length !== '0');
    // A content type on an empty body (many clients send it on every request) is a request
    // without a body, not a parse error: a route that takes none (a DELETE, a retry) answers as
    // documented, and after the token was checked.
    if (!hasBody) delete request.headers['content-type'];
    if (!hasBody || JSON_MEDIA_TYPE.test(request.headers['content-type'] ?? '')) return done();
    void reply
      .code(415)
      .header('content-type', 'application/json; charset=utf-8')
      .send(
        errorBody(
          'UNSUPPORTED_MEDIA_TYPE',
          'Request bodies must be JSON (Content-Type: application/json).',
        ),
      );
  });
}
