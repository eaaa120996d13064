import { createHash, randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Actor, Channel } from '@app/domain';
import type { CommandContext } from '@app/command-handling';
import type { RequestFingerprinter } from '@app/infrastructure';
import { ApiError } from './api-error';
import type { Caller } from './auth';

const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;
const CORRELATION_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The Idempotency-Key header, validated: printable ASCII, at most 200 characters. */
export function idempotencyKeyOf(request: FastifyRequest): string | null {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return null;
  if (typeof raw !== 'string' || !KEY_PATTERN.test(raw))
    throw new ApiError(
      'VALIDATION_FAILED',
      'Idempotency-Key must be 1–200 printable ASCII characters.',
      {
        issues: [{ path: 'headers.idempotency-key', message: 'invalid' }],
      },
    );
  return raw;
}

/**
 * The caller's correlation id (X-Correlation-Id) or a new one; it travels into every event.
 * Decided once per request, so the request log, the response header and the events agree.
 */
export function correlationIdOf(request: FastifyRequest): string {
  const memo = request as FastifyRequest & { correlationId?: string };
  if (memo.correlationId !== undefined) return memo.correlationId;
  const raw = request.headers['x-correlation-id'];
  memo.correlationId =
    typeof raw === 'string' && CORRELATION_PATTERN.test(raw) ? raw : randomUUID();
  return memo.correlationId;
}

/**
 * Metadata for the events a request writes. Idempotency keys are scoped per calling service, so
 * two services choosing the same key do not collide.
 */
export function commandContext(
  request: FastifyRequest,
  caller: Caller,
  fingerprinter: RequestFingerprinter,
  route: string,
  input: unknown,
  who: { actor: Actor | null; channel: Channel | null },
): CommandContext {
  const key = idempotencyKeyOf(request);
  return {
    commandId: key === null ? null : `${caller.service}/${key}`,
    requestHash: key === null ? null : fingerprinter.fingerprint(route, input),
    correlationId: correlationIdOf(request),
    causationId: null,
    actor: who.actor,
    channel: who.channel,
  };
}

/**
 * A subscription id derived from the idempotency key when the caller sent none, so that a retried
 * registration lands on the same stream (and is answered from it) instead of creating a twin.
 */
export function derivedSubscriptionId(caller: Caller, key: string | null): string {
  if (key === null) return `sub_${randomUUID().replace(/-/g, '')}`;
  return `sub_${createHash('sha256').update(`${caller.service}/${key}`).digest('hex').slice(0, 32)}`;
}
