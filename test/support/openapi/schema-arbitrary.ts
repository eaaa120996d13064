import fc from 'fast-check';

/**
 * fast-check arbitraries from the JSON schemas of the served OpenAPI document: request bodies
 * that the document says are valid (`valid`), and the same bodies with one part broken the way
 * clients break them (`mutated`). Covers what the document uses: objects, arrays, strings (enum,
 * const, pattern, date-time, email, lengths), numbers, booleans, null, anyOf/oneOf/allOf, $ref.
 */
export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  nullable?: boolean;
};

type Resolve = (ref: string) => JsonSchema;

/** A date-time the API takes: with an offset, between 2000 and 2090. */
const instant = fc
  .integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2090-01-01T00:00:00Z') })
  .map((ms) => new Date(ms).toISOString());

export function validValue(schema: JsonSchema, resolve: Resolve, depth = 0): fc.Arbitrary<unknown> {
  if (schema.$ref) return validValue(resolve(schema.$ref), resolve, depth);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.allOf)
    return validValue(Object.assign({}, ...schema.allOf) as JsonSchema, resolve, depth);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => validValue(s, resolve, depth + 1)));
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 1)
    return fc.oneof(...types.map((type) => validValue({ ...schema, type }, resolve, depth + 1)));
  const value = (() => {
    switch (types[0]) {
      case 'object': {
        const props = schema.properties ?? {};
        const required = new Set(schema.required ?? []);
        const record: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [key, sub] of Object.entries(props))
          record[key] = validValue(sub, resolve, depth + 1);
        return fc.record(record, {
          requiredKeys: Object.keys(props).filter((k) => required.has(k)),
        }) as fc.Arbitrary<unknown>;
      }
      case 'array':
        return fc.array(validValue(schema.items ?? {}, resolve, depth + 1), {
          minLength: schema.minItems ?? 0,
          maxLength: Math.min(schema.maxItems ?? 3, 3),
        });
      case 'string':
        if (schema.format === 'date-time') return instant;
        if (schema.format === 'email') return fc.constantFrom('anna@example.com', 'b.c@example.it');
        if (schema.pattern) {
          const min = schema.minLength ?? 0;
          const max = schema.maxLength ?? 64;
          return fc
            .stringMatching(new RegExp(schema.pattern))
            .filter((s) => s.length >= min && s.length <= max);
        }
        return fc.string({
          minLength: Math.max(schema.minLength ?? 0, 1),
          maxLength: Math.min(schema.maxLength ?? 40, 40),
          unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789-_.'),
        });
      case 'integer':
      case 'number': {
        const min = schema.minimum ?? (schema.exclusiveMinimum ?? -1) + 1;
        const max = schema.maximum ?? (schema.exclusiveMaximum ?? 1000) - 1;
        return fc.integer({ min: Math.ceil(min), max: Math.floor(Math.min(max, 1e9)) });
      }
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      default:
        return fc.jsonValue({ maxDepth: 1 });
    }
  })();
  return schema.nullable ? fc.oneof(value, fc.constant(null)) : value;
}

/** What a client gets wrong: a field dropped, of the wrong type, hostile, or one too many. */
const hostile = fc.oneof(
  fc.constantFrom(
    '',
    'x'.repeat(5000),
    '\u202Eevil',
    'a\u0000b',
    '9999-12-31T23:59:59Z',
    '0000-01-01T00:00:00Z',
    '12.345',
    -1,
    1e308,
    Number.MAX_SAFE_INTEGER,
    true,
    null,
    [],
    {},
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

export function mutated(schema: JsonSchema, resolve: Resolve): fc.Arbitrary<unknown> {
  return validValue(schema, resolve).chain((body) => {
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      return hostile.map((h) => h as unknown);
    const keys = Object.keys(body);
    return fc.oneof(
      // One field dropped.
      ...(keys.length > 0
        ? [fc.constantFrom(...keys).map((k) => omit(body as Record<string, unknown>, k))]
        : []),
      // One field replaced by something hostile.
      ...(keys.length > 0
        ? [
            fc
              .tuple(fc.constantFrom(...keys), hostile)
              .map(([k, v]) => ({ ...(body as Record<string, unknown>), [k]: v })),
          ]
        : []),
      // A field the document does not name.
      hostile.map((v) => ({ ...(body as Record<string, unknown>), unexpectedField: v })),
    );
  });
}

function omit(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = o;
  return rest;
}

/** A resolver of `#/components/schemas/...` references in a document. */
export const resolverOf =
  (document: { components?: { schemas?: Record<string, JsonSchema> } }): Resolve =>
  (ref) => {
    const name = ref.replace('#/components/schemas/', '');
    const schema = document.components?.schemas?.[name];
    if (!schema) throw new Error(`unresolved $ref ${ref}`);
    return schema;
  };
