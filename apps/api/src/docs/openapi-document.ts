import { Injectable } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';
import { ERROR_STATUS } from '../http/api-error';
import { PUBLIC_KEY, SCOPE_KEY } from '../http/auth';
import { COMMAND_BODIES } from './openapi-bodies';

type Operation = {
  operationId?: string;
  description?: string;
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  'x-required-scope'?: string;
};
type PathItem = Record<string, Operation>;

export const toOpenApiSchema = (schema: z.ZodType): Record<string, unknown> =>
  z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' });

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERROR_STATUS) },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
};
/** The API's error shape, for a route that declares an error response of its own. */
export const ERROR_SCHEMA_REF = { $ref: '#/components/schemas/Error' };
/** An error answer in the one error shape, for a route's `@ApiResponse({ status, ...here })`. */
export const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/**
 * The OpenAPI document, generated from the code: routes, parameters and query schemas by
 * @nestjs/swagger's scanner (zod schemas declared on the parameters), request bodies from the
 * controllers' zod schemas, and each route's scope from the same metadata the AuthGuard reads.
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
      .setDescription(
        'Cancellation, expiry and irreversible purge of SaaS subscriptions (contract: API.md). ' +
          'Every route but /health/* and /metrics needs `Authorization: Bearer <token>`; each ' +
          'operation names its scope in `x-required-scope`. Errors: `{ "error": { code, message, details? } }`.',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer' }, 'bearer')
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
    document.components = {
      ...document.components,
      schemas: { ...document.components?.schemas, Error: errorSchema as never },
    };
    const access = this.routeAccess();
    for (const [path, item] of Object.entries(document.paths as Record<string, PathItem>)) {
      for (const [method, op] of Object.entries(item)) {
        const rule = op.operationId ? access.get(op.operationId) : undefined;
        if (rule?.public) {
          op.security = [];
        } else {
          op.security = [{ bearer: [] }];
          op['x-required-scope'] = rule?.scope ?? '(undeclared: closed)';
          op.description = [op.description, `Scope: \`${rule?.scope ?? 'none declared'}\`.`]
            .filter(Boolean)
            .join('\n\n');
          op.responses['401'] ??= errorResponse('UNAUTHENTICATED: missing or unknown token');
          op.responses['403'] ??= errorResponse('FORBIDDEN_SCOPE: the token lacks the scope');
        }
        op.responses['400'] ??= errorResponse('VALIDATION_FAILED');
        const body = COMMAND_BODIES[`${method} ${path}`];
        if (body && !op.requestBody)
          op.requestBody = {
            required: true,
            content: { 'application/json': { schema: toOpenApiSchema(body) } },
          };
      }
    }
    return document;
  }

  /** operationId → scope / public, read from the metadata the AuthGuard enforces. */
  private routeAccess(): Map<string, { scope?: string; public: boolean }> {
    const out = new Map<string, { scope?: string; public: boolean }>();
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
          out.set(`${type.name}_${name}`, { ...(scope ? { scope } : {}), public: isPublic });
        }
      }
    }
    return out;
  }
}
