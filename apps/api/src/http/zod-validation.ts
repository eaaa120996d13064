import type { z } from 'zod';
import { ApiError } from './api-error';

/**
 * Parses untrusted input with a zod schema; failures become VALIDATION_FAILED with every issue
 * (path and message), never the rejected values (they may be personal data).
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  where: 'body' | 'query' | 'params' | 'headers',
): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const what = {
    body: 'body is',
    query: 'query is',
    params: 'path parameters are',
    headers: 'headers are',
  };
  throw new ApiError('VALIDATION_FAILED', `The request ${what[where]} invalid.`, {
    issues: result.error.issues.map((i) => ({
      path: [where, ...i.path.map(String)].join('.'),
      message: i.message,
    })),
  });
}
