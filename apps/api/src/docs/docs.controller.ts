import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController, type OpenAPIObject } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiError } from '../http/api-error';
import { Public } from '../http/auth';
import { OpenApiDocument } from './openapi-document';

/** The Swagger UI files served under /docs/assets (nothing else from the package). */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
};

const assetDir = (): string => dirname(require.resolve('swagger-ui-dist/package.json'));

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Subscription end of life: API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: '/docs/json',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
  persistAuthorization: false,
});
`;

/** GET /docs (Swagger UI) and GET /docs/json (the OpenAPI document); no token needed. */
@ApiExcludeController()
@Controller('docs')
export class DocsController {
  private readonly assets = new Map<string, Buffer>();

  constructor(private readonly document: OpenApiDocument) {}

  @Get()
  @Public()
  page(@Res({ passthrough: true }) reply: FastifyReply): string {
    void reply.header('content-type', 'text/html; charset=utf-8');
    return PAGE;
  }

  @Get('json')
  @Public()
  json(): OpenAPIObject {
    return this.document.get();
  }

  @Get('init.js')
  @Public()
  init(@Res({ passthrough: true }) reply: FastifyReply): string {
    void reply.header('content-type', 'application/javascript; charset=utf-8');
    return INIT;
  }

  @Get('assets/:file')
  @Public()
  asset(@Param('file') file: string, @Res({ passthrough: true }) reply: FastifyReply): Buffer {
    const type = Object.prototype.hasOwnProperty.call(ASSETS, file) ? ASSETS[file] : undefined;
    if (!type) throw new ApiError('NOT_FOUND', 'No such documentation asset.');
    let bytes = this.assets.get(file);
    if (!bytes) {
      bytes = readFileSync(join(assetDir(), file));
      this.assets.set(file, bytes);
    }
    void reply.header('content-type', type).header('cache-control', 'public, max-age=86400');
    return bytes;
  }
}
