import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** The parts of an OpenAPI 3.0 document the validator reads. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, unknown> };
  [key: string]: unknown;
}
export interface OpenApiOperation {
  operationId?: string;
  responses: Record<
    string,
    { description?: string; content?: Record<string, { schema?: unknown }> }
  >;
  [key: string]: unknown;
}

/** A response as a test received it (Fastify inject's, fetch's, or any other). */
export interface ObservedResponse {
  method: string;
  /** The request URL: a path with its query (`/v1/subscriptions/sub_1?x=1`) or an absolute URL. */
  url: string;
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  /** The body as text (inject's `res.body`), or already parsed JSON. */
  body: unknown;
}

export interface ResponseValidation {
  /** `GET /v1/subscriptions/{id}`: the operation the response was checked against (null: none). */
  operation: string | null;
  /** `200 application/json`: the declared response it was checked against. */
  declared: string | null;
  /** Empty when the response is what the document declares. */
  errors: string[];
  /** Not checked: a route the document leaves out on purpose (/docs, /ops/queues). */
  skipped: boolean;
}

export interface ValidatorOptions {
  /**
   * Also report properties the schema does not declare (default true): the document is the
   * client's only source, so an answer's undeclared field is drift. Schemas that allow any
   * property (`additionalProperties: {}`, e.g. an event's `data`) still do.
   */
  forbidUndeclaredProperties?: boolean;
  /** Routes served but kept out of the document (default: /docs…, /ops/queues…). */
  ignore?: (method: string, path: string) => boolean;
}

const DEFAULT_IGNORE = (_method: string, path: string): boolean =>
  /^\/docs(\/|$)/.test(path) || /^\/ops\/queues(\/|$)/.test(path);

const REF_BASE = 'openapi.json';

/**
 * An OpenAPI 3.0 schema as JSON Schema for ajv: `nullable` becomes a `null` type (or an `anyOf`
 * with null beside a `$ref`/composition), `$ref`s point into the document registered under
 * REF_BASE, and (optionally) objects with declared properties admit no others.
 */
function toJsonSchema(node: unknown, forbid: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, forbid));
  if (node === null || typeof node !== 'object') return node;
  const source = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'nullable' || key === 'example' || key === 'examples') continue;
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/'))
      out[key] = `${REF_BASE}${value}`;
    else if (key === 'properties' && value && typeof value === 'object')
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [
          k,
          toJsonSchema(v, forbid),
        ]),
      );
    else out[key] = toJsonSchema(value, forbid);
  }
  if (forbid && out['properties'] && out['additionalProperties'] === undefined)
    out['additionalProperties'] = false;
  if (source['nullable'] !== true) return out;
  if (typeof out['type'] === 'string' && out['$ref'] === undefined) {
    out['type'] = [out['type'], 'null'];
    if (Array.isArray(out['enum']) && !out['enum'].includes(null))
      out['enum'] = [...(out['enum'] as unknown[]), null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

interface CompiledDocument {
  ajv: Ajv;
  forbid: boolean;
  routes: { template: string; pattern: RegExp; params: number }[];
  validators: Map<string, ValidateFunction>;
}

const compiledDocuments = new WeakMap<object, Map<boolean, CompiledDocument>>();

function compile(doc: OpenApiDocument, forbid: boolean): CompiledDocument {
  let byMode = compiledDocuments.get(doc);
  if (!byMode) compiledDocuments.set(doc, (byMode = new Map()));
  const known = byMode.get(forbid);
  if (known) return known;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema(
    { $id: REF_BASE, components: toJsonSchema(doc.components ?? {}, forbid) },
    REF_BASE,
  );
  const routes = Object.keys(doc.paths)
    .map((template) => {
      const params = (template.match(/\{[^}]+\}/g) ?? []).length;
      const source = template
        .split(/(\{[^}]+\})/)
        .map((part) =>
          part.startsWith('{') ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('');
      // Exact: the server routes no trailing slash (`/v1/webhook-endpoints/` is a 404, not the
      // list), so such a URL is an unknown route here too.
      return { template, pattern: new RegExp(`^${source}$`), params };
    })
    // A literal segment wins over a parameter: /a/open before /a/{id}.
    .sort((a, b) => a.params - b.params || b.template.length - a.template.length);
  const compiled = { ajv, forbid, routes, validators: new Map<string, ValidateFunction>() };
  byMode.set(forbid, compiled);
  return compiled;
}

/** The OpenAPI path template a concrete URL path belongs to (null: none of the document's). */
export function pathTemplateOf(doc: OpenApiDocument, path: string): string | null {
  const { routes } = compile(doc, true);
  const pathname = pathOf(path);
  return routes.find((r) => r.pattern.test(pathname))?.template ?? null;
}

function pathOf(url: string): string {
  const parsed = new URL(url, 'http://localhost');
  return parsed.pathname;
}

function headerOf(headers: ObservedResponse['headers'], name: string): string | undefined {
  const found = Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  if (found === undefined) return undefined;
  return Array.isArray(found) ? found.join(', ') : String(found);
}

const messages = (errors: ErrorObject[] | null | undefined, where: string): string[] =>
  (errors ?? []).map((e) => {
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: unknown }).additionalProperty)})`
        : e.keyword === 'enum'
          ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
          : '';
    return `${where}${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
  });

/**
 * Validates one response against what the document declares for it: finds the operation from
 * the method and the concrete URL (mapped to its path template), the declared response from the
 * status code (exact, then `4XX`-style, then `default`), the media type from `Content-Type`, and
 * validates the body against its schema (ajv with formats; NDJSON line by line). A response the
 * document does not declare (route, method, status or content type) is an error too.
 */
export function validateResponse(
  doc: OpenApiDocument,
  response: ObservedResponse,
  options: ValidatorOptions = {},
): ResponseValidation {
  const forbid = options.forbidUndeclaredProperties ?? true;
  const compiled = compile(doc, forbid);
  const method = response.method.toLowerCase();
  const path = pathOf(response.url);
  const result = (
    operation: string | null,
    declared: string | null,
    errors: string[],
    skipped = false,
  ): ResponseValidation => ({ operation, declared, errors, skipped });
  if ((options.ignore ?? DEFAULT_IGNORE)(method.toUpperCase(), path))
    return result(null, null, [], true);

  const template = compiled.routes.find((r) => r.pattern.test(path))?.template ?? null;
  const op = template ? doc.paths[template]?.[method] : undefined;
  const status = String(response.statusCode);
  const contentType = headerOf(response.headers, 'content-type')?.split(';')[0]?.trim() ?? null;
  if (!template || !op) {
    // An unknown route or method is a 404 in the error shape; anything else is undocumented.
    const where = `${method.toUpperCase()} ${path}`;
    if (response.statusCode !== 404)
      return result(null, null, [`${where}: no such operation in the document (${status})`]);
    const errors = checkBody(compiled, '#/components/schemas/Error', contentType, response.body);
    return result(
      null,
      '404 Error',
      errors.map((e) => `${where}: ${e}`),
    );
  }
  const operation = `${method.toUpperCase()} ${template}`;
  const declaredResponse =
    op.responses[status] ?? op.responses[`${status[0]}XX`] ?? op.responses['default'];
  if (!declaredResponse)
    return result(operation, null, [
      `${operation}: status ${status} is not declared (declared: ${Object.keys(op.responses).join(', ')})`,
    ]);
  const content = declaredResponse.content;
  const isEmpty =
    response.body === undefined ||
    response.body === null ||
    (typeof response.body === 'string' && response.body.length === 0);
  if (!content || Object.keys(content).length === 0)
    return result(
      operation,
      status,
      isEmpty ? [] : [`${operation} ${status}: declares no body but one came (${contentType})`],
    );
  const media =
    contentType && content[contentType]
      ? contentType
      : Object.keys(content).find((m) => contentType !== null && mediaMatches(m, contentType));
  if (!media)
    return result(operation, status, [
      `${operation} ${status}: content type ${contentType ?? '(none)'} is not declared (declared: ${Object.keys(content).join(', ')})`,
    ]);
  const schema = content[media]?.schema;
  if (schema === undefined)
    return result(operation, `${status} ${media}`, [
      `${operation} ${status} ${media}: declared without a schema`,
    ]);
  const key = `${operation} ${status} ${media}`;
  const errors = checkBody(compiled, key, media, response.body, schema);
  return result(
    operation,
    `${status} ${media}`,
    errors.map((e) => `${key}: ${e}`),
  );
}

/** Throws with every error when the response is not what the document declares. */
export function assertResponseMatches(
  doc: OpenApiDocument,
  response: ObservedResponse,
  options?: ValidatorOptions,
): ResponseValidation {
  const validation = validateResponse(doc, response, options);
  if (validation.errors.length > 0)
    throw new Error(
      `${response.method} ${response.url} → ${response.statusCode} does not match the OpenAPI document:\n  ${validation.errors.join('\n  ')}`,
    );
  return validation;
}

function mediaMatches(declared: string, actual: string): boolean {
  if (declared === '*/*') return true;
  const [type, sub] = declared.split('/');
  const [actualType, actualSub] = actual.split('/');
  return type === actualType && (sub === '*' || sub === actualSub);
}

function validatorFor(compiled: CompiledDocument, key: string, schema?: unknown): ValidateFunction {
  let validate = compiled.validators.get(key);
  if (!validate) {
    const jsonSchema =
      schema === undefined ? { $ref: `${REF_BASE}${key}` } : toJsonSchema(schema, compiled.forbid);
    validate = compiled.ajv.compile(jsonSchema as object);
    compiled.validators.set(key, validate);
  }
  return validate;
}

function checkBody(
  compiled: CompiledDocument,
  key: string,
  media: string | null,
  body: unknown,
  schema?: unknown,
): string[] {
  const validate = validatorFor(compiled, key, schema);
  if (media === 'application/x-ndjson') {
    const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString() : '';
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const errorLine = validatorFor(compiled, '#/components/schemas/Error');
    return lines.flatMap((line, i) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return [`line ${i + 1} is not JSON`];
      }
      if (validate(value)) return [];
      // docs/http-api.md: a failure after the first byte ends the stream with one {"error":…} line.
      if (i === lines.length - 1 && errorLine(value)) return [];
      return messages(validate.errors, `line ${i + 1} `);
    });
  }
  let value = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const text = body.toString();
    if (media === 'application/json' || media?.endsWith('+json')) {
      try {
        value = JSON.parse(text);
      } catch {
        return ['the body is not JSON'];
      }
    } else value = text;
  }
  return validate(value) ? [] : messages(validate.errors, 'body');
}
