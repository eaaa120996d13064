import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiParam, ApiQuery } from '@nestjs/swagger';
import type { z } from 'zod';
import type { ApiErrorCode } from '../http/api-error';
import { idSchema } from '../http/common-schemas';
import { toOpenApiSchema } from './openapi-schemas';

export const API_ERRORS_KEY = 'openapi:errors';

/** The errors a route answers besides those every route of its kind does, by code. */
export type RouteErrors = Partial<Record<ApiErrorCode, string>>;

/**
 * The errors a route can give of its own, each with when: `@ApiErrors({ NOT_FOUND: 'no such
 * subscription', INVALID_STATE: 'expired or purged' })`. The document groups them by status
 * (ERROR_STATUS) with the errors every route of the kind gives (401/403 without a token or
 * scope, 400, 413 and 415 with a body, 409 CONCURRENCY_CONFLICT and 422 IDEMPOTENCY_KEY_REUSED on
 * commands, 503 READ_MODEL_BEHIND on read-model queries, 503 while shutting down): see
 * OpenApiDocument. Declare a route's errors this way rather than with `@ApiResponse`: the
 * document writes each error response from the codes (its description lists them, and the
 * document test checks that each code has that status).
 */
export const ApiErrors = (errors: RouteErrors) => SetMetadata(API_ERRORS_KEY, errors);

/** A path parameter that is an id (docs/http-api.md: 1–64 letters, digits, `_` or `-`). */
export const ApiIdParam = (name: string, description: string, example: string) =>
  ApiParam({ name, description, required: true, schema: toOpenApiSchema(idSchema), example });

/**
 * The query parameters of a zod object schema that the handler parses itself (`@Query()`
 * without a schema): one parameter per property, required unless optional, described by the
 * schema's `.describe()` or by `descriptions`.
 */
export function ApiQueryFrom(schema: z.ZodType, descriptions: Record<string, string> = {}) {
  const json = toOpenApiSchema(schema) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return applyDecorators(
    ...Object.entries(json.properties ?? {}).map(([name, property]) =>
      ApiQuery({
        name,
        required: json.required?.includes(name) ?? false,
        ...(typeof (descriptions[name] ?? property['description']) === 'string'
          ? { description: descriptions[name] ?? (property['description'] as string) }
          : {}),
        schema: property,
      }),
    ),
  );
}
