import { z } from 'zod';

/** A JSON schema object as the OpenAPI 3.0 document holds it. */
export type OpenApiSchema = Record<string, unknown>;

/**
 * Schemas with a name (`.meta({ id: 'Subscription' })`), collected while zod schemas are
 * converted: the document lists them under `components.schemas` and everything else refers to
 * them, so a generated client gets `components['schemas']['Subscription']` instead of one inline
 * copy per use.
 */
const NAMED = new Map<string, OpenApiSchema>();

/** `z.number().int()` says ±(2^53 − 1): true of every JSON integer we write, and only noise. */
const SAFE_INTEGER_BOUNDS: Readonly<Record<string, number>> = {
  minimum: Number.MIN_SAFE_INTEGER,
  maximum: Number.MAX_SAFE_INTEGER,
};

/** Rewrites zod's output for the document: `$ref`s to `#/components/schemas/`, no safe-integer bounds. */
function normalise(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalise);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (SAFE_INTEGER_BOUNDS[key] !== undefined && value === SAFE_INTEGER_BOUNDS[key]) continue;
    if (key === '$ref' && typeof value === 'string')
      out[key] = value.replace(/^#\/(definitions|\$defs)\//, '#/components/schemas/');
    else out[key] = normalise(value);
  }
  return out;
}

/**
 * A zod schema as an OpenAPI 3.0 schema (its input side: what a request may send, what an answer
 * holds). Named sub-schemas (`.meta({ id })`) become `$ref`s to `#/components/schemas/<id>` and
 * are kept for `namedSchemas()`. A named root is a `$ref` too, unless `root: 'inline'`: then it
 * is written out (an operation's own request or answer, whose parts refer to components).
 *
 * Do not name a schema used as `.nullable()`: zod writes that as `nullable` beside an `allOf` of
 * the `$ref`, which OpenAPI 3.0 ignores without a `type` (redocly: nullable-type-sibling).
 */
export const toOpenApiSchema = (
  schema: z.ZodType,
  options: { root?: 'ref' | 'inline' } = {},
): OpenApiSchema => {
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'any',
  }) as OpenApiSchema;
  const { definitions, $defs, ...root } = json as OpenApiSchema & {
    definitions?: Record<string, unknown>;
    $defs?: Record<string, unknown>;
  };
  const named: Record<string, unknown> = { ...definitions, ...$defs };
  const rootName =
    typeof root['$ref'] === 'string'
      ? root['$ref'].replace(/^#\/(definitions|\$defs)\//, '')
      : null;
  const inline = options.root === 'inline' && rootName !== null && named[rootName] !== undefined;
  for (const [name, definition] of Object.entries(named)) {
    if (inline && name === rootName) continue;
    const normalised = normalise(definition) as OpenApiSchema;
    const known = NAMED.get(name);
    if (known && JSON.stringify(known) !== JSON.stringify(normalised))
      throw new Error(`Two different schemas are named ${name} in the OpenAPI document.`);
    NAMED.set(name, normalised);
  }
  return normalise(inline ? named[rootName] : root) as OpenApiSchema;
};

/** Every named schema converted so far, by name (for `components.schemas`). */
export const namedSchemas = (): Record<string, OpenApiSchema> =>
  Object.fromEntries([...NAMED.entries()].sort(([a], [b]) => a.localeCompare(b)));

/** A reference to a named schema. */
export const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });
