import { Injectable } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';
import { type ApiErrorCode, ERROR_STATUS } from '../http/api-error';
import { PUBLIC_KEY, SCOPE_KEY } from '../http/auth';
import { API_ERRORS_KEY, type RouteErrors } from './api-docs.decorators';
import { COMMAND_BODIES, COMMAND_EXAMPLES } from './openapi-bodies';
import { namedSchemas, toOpenApiSchema } from './openapi-schemas';

export { schemaRef, toOpenApiSchema } from './openapi-schemas';

type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: Record<string, unknown>[];
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  responses: Record<string, Response>;
  'x-required-scope'?: string;
};
type Response = {
  description?: string;
  content?: Record<string, unknown>;
  headers?: Record<string, unknown>;
};
type PathItem = Record<string, Operation>;

/** What the document says about one handler, read from the metadata the app itself runs on. */
interface HandlerDocs {
  /** The scope the AuthGuard demands (undefined: none declared, the guard closes the route). */
  scope?: string;
  public: boolean;
  /** `@ApiErrors` of the handler. */
  errors: RouteErrors;
}

/** @nestjs/swagger's metadata key of `@ApiOperation` (not exported by the package). */
const API_OPERATION_KEY = 'swagger/apiOperation';

/** The operationId of a handler: `@ApiOperation({ operationId })`, else Controller_method. */
const operationIdOf = (controller: string, method: string, handler: unknown): string =>
  (
    Reflect.getMetadata(API_OPERATION_KEY, handler as object) as
      { operationId?: string } | undefined
  )?.operationId ?? `${controller}_${method}`;

const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ApiErrorCode, ...ApiErrorCode[]]),
      message: z.string().describe('A sentence for people; never personal data'),
      details: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('Structured facts: validation issues, the required scope, positions…'),
    }),
  })
  .meta({
    id: 'Error',
    description: 'Every 4xx and 5xx body (docs/http-api.md "Errors")',
    example: {
      error: {
        code: 'OUTSTANDING_BALANCE',
        message: 'A balance of 12.50 EUR is owed; self-service cancellation is refused (R6).',
        details: { recorded: true },
      },
    },
  });
/** The API's error shape, for a route that declares an error response of its own. */
export const ERROR_SCHEMA_REF = toOpenApiSchema(errorSchema);

/** The errors every route of a kind gives; a route adds its own with `@ApiErrors`. */
const ERRORS = {
  any: {
    VALIDATION_FAILED: 'a malformed path, query or body; bad JSON',
    SERVICE_UNAVAILABLE: 'the process is shutting down (Retry-After: 1; another replica answers)',
  },
  protected: {
    UNAUTHENTICATED: 'no bearer token, or an unknown one',
    FORBIDDEN_SCOPE: "the token lacks the route's scope (`details.requiredScope`)",
  },
  body: {
    PAYLOAD_TOO_LARGE: 'a body over 64 KiB',
    UNSUPPORTED_MEDIA_TYPE: 'a body that is not `application/json`',
  },
  command: {
    CONCURRENCY_CONFLICT: 'version conflicts on the stream outlasted the retries (5 attempts)',
    IDEMPOTENCY_KEY_REUSED:
      'the Idempotency-Key was sent before for another subscription, route or body',
  },
  readModel: {
    READ_MODEL_BEHIND:
      'the read models did not reach `minPosition` within `maxWaitMs` (Retry-After: 1)',
  },
} satisfies Record<string, RouteErrors>;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Refused',
  500: 'Internal error',
  503: 'Service unavailable',
};

const IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Makes the command safe to retry (docs/http-api.md "Idempotency"): the same key with the same body on ' +
    'the same subscription is answered again from what the first request wrote and writes ' +
    'nothing; with another subscription, route or body it is 422 IDEMPOTENCY_KEY_REUSED. Keys ' +
    'are scoped per calling service. A registration without `subscriptionId` derives the id ' +
    'from it.',
  schema: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]{1,200}$' },
  example: 'billing-7c1e0b2d',
};

const HEADERS = {
  XRequestId: {
    description: "The request's id: the caller's `X-Request-Id` when sane, else a new UUID",
    schema: { type: 'string' },
  },
  XCorrelationId: {
    description:
      "The caller's `X-Correlation-Id` when sane, else a new UUID; written into the events the request causes",
    schema: { type: 'string' },
  },
  XReadPosition: {
    description: 'The log position the read models included when they answered',
    schema: { type: 'string', pattern: '^\\d+$' },
  },
  RetryAfter: {
    description: 'Seconds to wait before retrying',
    schema: { type: 'string', example: '1' },
  },
  XExportUpTo: {
    description: 'NDJSON export only: the newest position the export includes',
    schema: { type: 'string', pattern: '^\\d+$' },
  },
};
const headerRef = (name: keyof typeof HEADERS) => ({ $ref: `#/components/headers/${name}` });

const DESCRIPTION = `Cancellation, expiry and irreversible purge of SaaS subscriptions: the contract in brief is
docs/http-api.md; this document is the reference for request and response shapes.

**Authentication.** Every operation but \`/health/*\`, \`/metrics\` (and this document at
\`/docs\`, \`/docs/json\`) needs \`Authorization: Bearer <token>\` with an opaque token from
\`AUTH_TOKENS\`; each operation names its scope in \`x-required-scope\`.

**Errors.** Every 4xx and 5xx body is an \`Error\`: \`{ "error": { code, message, details? } }\`;
each response lists the codes it may carry.

**Commands** accept an \`Idempotency-Key\` and answer the log \`position\` of what they wrote; pass
it as \`?minPosition=\` to a read-model query to read your write.`;

/**
 * The OpenAPI document, generated from the code: routes, parameters and query schemas by
 * @nestjs/swagger's scanner (zod schemas declared on the parameters), request bodies from the
 * controllers' zod schemas, answers from read-side/response-schemas.ts, and each route's scope
 * and errors from the same metadata the AuthGuard and the handlers run on.
 *
 * Built inside the app (from the module container) rather than in main.ts, so every host of the
 * app — the server and every test — serves the same /docs.
 */
@Injectable()
export class OpenApiDocument {
  private document: OpenAPIObject | null = null;

  constructor(
    private readonly modules: ModulesContainer,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  get(): OpenAPIObject {
    this.document ??= this.build();
    return this.document;
  }

  private build(): OpenAPIObject {
    const config = new DocumentBuilder()
      .setTitle('Subscription end of life')
      .setDescription(DESCRIPTION)
      .setVersion('1')
      .setLicense('Proprietary (UNLICENSED): internal platform services only', '')
      .addServer('/', 'The server that serves this document')
      .addTag('subscriptions', 'Register, cancel, withdraw, reactivate, terminate (commands)')
      .addTag('accounts', 'Legal holds and GDPR erasure, per account (commands)')
      .addTag('queries', 'Subscriptions, cancellation previews, account lists, confirmations')
      .addTag('audit', 'The audit trail and purge receipts')
      .addTag('events', 'Integration events for product services: the pull feed')
      .addTag('operations', 'Streams, replay, open purges, the controlled clock, metrics')
      .addTag('webhooks', 'Webhook endpoints for the integration events, and their deliveries')
      .addTag('health', 'Liveness and readiness probes')
      .build();
    // The scanner needs the module container, the HTTP adapter and the global prefix (none).
    const app = {
      container: { getModules: () => this.modules, isGlobalModule: () => false },
      config: { getGlobalPrefix: () => '', getVersioning: () => undefined },
      getHttpAdapter: () => this.adapterHost.httpAdapter,
    };
    const document = SwaggerModule.createDocument(app as never, config, {
      operationIdFactory: (controller, method) => `${controller}_${method}`,
    });
    if (document.info.license) delete document.info.license.url;
    document.components = {
      ...document.components,
      // Opaque tokens (AUTH_TOKENS), not JWTs: no bearerFormat.
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An opaque token from AUTH_TOKENS (docs/http-api.md "Authentication and scopes")',
        },
      },
      parameters: { IdempotencyKey: IDEMPOTENCY_KEY as never },
      headers: HEADERS,
    };
    const handlers = this.handlerDocs();
    for (const [path, item] of Object.entries(document.paths as Record<string, PathItem>))
      for (const [method, op] of Object.entries(item))
        this.complete(
          op,
          `${method} ${path}`,
          op.operationId ? handlers.get(op.operationId) : undefined,
        );
    // Last: completing the operations converts the request bodies, which may name schemas too.
    document.components.schemas = {
      ...document.components.schemas,
      ...(namedSchemas() as Record<string, never>),
    };
    return document;
  }

  /** One operation: security and scope, body, Idempotency-Key, error responses, headers. */
  private complete(op: Operation, route: string, handler: HandlerDocs | undefined): void {
    const errors: RouteErrors = { ...ERRORS.any };
    if (handler?.public) {
      op.security = [];
    } else {
      op.security = [{ bearer: [] }];
      op['x-required-scope'] = handler?.scope ?? '(undeclared: closed)';
      op.description = [op.description, `Scope: \`${handler?.scope ?? 'none declared'}\`.`]
        .filter(Boolean)
        .join('\n\n');
      Object.assign(errors, ERRORS.protected);
    }
    const command = COMMAND_BODIES[route];
    if (command && !op.requestBody)
      op.requestBody = {
        required: true,
        content: {
          'application/json': {
            schema: toOpenApiSchema(command),
            ...(COMMAND_EXAMPLES[route] ? { examples: COMMAND_EXAMPLES[route] } : {}),
          },
        },
      };
    if (command) {
      op.parameters = [
        ...(op.parameters ?? []),
        { $ref: '#/components/parameters/IdempotencyKey' },
      ];
      Object.assign(errors, ERRORS.command);
    }
    if (op.requestBody) Object.assign(errors, ERRORS.body);
    const readModel = op.parameters?.some((p) => p['name'] === 'minPosition') ?? false;
    if (readModel) Object.assign(errors, ERRORS.readModel);
    Object.assign(errors, handler?.errors);

    for (const [status, response] of Object.entries(op.responses))
      if (Number(status) < 300) {
        response.headers = {
          'X-Request-Id': headerRef('XRequestId'),
          'X-Correlation-Id': headerRef('XCorrelationId'),
          ...(readModel ? { 'X-Read-Position': headerRef('XReadPosition') } : {}),
          ...response.headers,
        };
      }
    for (const [status, codes] of byStatus(errors)) {
      op.responses[status] = {
        description:
          `${STATUS_TEXT[Number(status)] ?? 'Error'}. ` +
          codes.map(([code, when]) => `\`${code}\`: ${when}`).join('. '),
        headers: {
          'X-Request-Id': headerRef('XRequestId'),
          'X-Correlation-Id': headerRef('XCorrelationId'),
          ...(status === '503' ? { 'Retry-After': headerRef('RetryAfter') } : {}),
        },
        content: { 'application/json': { schema: ERROR_SCHEMA_REF } },
      };
    }
    op.responses = Object.fromEntries(
      Object.entries(op.responses).sort(([a], [b]) => a.localeCompare(b)),
    );
  }

  /**
   * Per operationId: the scope and public flag the AuthGuard enforces and the handler's
   * `@ApiErrors`. Found by controller class and method, and keyed by the operationId the
   * document gives that handler (its `@ApiOperation({ operationId })`, else Controller_method,
   * as the scanner's operationIdFactory), so a readable id never loses its scope.
   */
  private handlerDocs(): Map<string, HandlerDocs> {
    const out = new Map<string, HandlerDocs>();
    for (const module of this.modules.values()) {
      for (const wrapper of module.controllers.values()) {
        const type = wrapper.metatype as (new (...args: never[]) => unknown) | null;
        if (!type || typeof type !== 'function') continue;
        const classScope = Reflect.getMetadata(SCOPE_KEY, type) as string | undefined;
        const classPublic = Reflect.getMetadata(PUBLIC_KEY, type) === true;
        const proto = type.prototype as Record<string, unknown>;
        for (const name of Object.getOwnPropertyNames(proto)) {
          const handler = proto[name];
          if (name === 'constructor' || typeof handler !== 'function') continue;
          const scope =
            (Reflect.getMetadata(SCOPE_KEY, handler) as string | undefined) ?? classScope;
          const isPublic = Reflect.getMetadata(PUBLIC_KEY, handler) === true || classPublic;
          const errors = (Reflect.getMetadata(API_ERRORS_KEY, handler) as RouteErrors) ?? {};
          const id = operationIdOf(type.name, name, handler);
          // Two handlers with one operationId: neither gets a scope (the document test fails).
          if (out.has(id)) out.set(id, { public: false, errors: {} });
          else out.set(id, { ...(scope ? { scope } : {}), public: isPublic, errors });
        }
      }
    }
    return out;
  }
}

/** Error codes grouped by their HTTP status, in status order. */
function byStatus(errors: RouteErrors): [string, [string, string][]][] {
  const groups = new Map<string, [string, string][]>();
  for (const [code, when] of Object.entries(errors) as [ApiErrorCode, string][]) {
    const status = String(ERROR_STATUS[code]);
    groups.set(status, [...(groups.get(status) ?? []), [code, when]]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}
