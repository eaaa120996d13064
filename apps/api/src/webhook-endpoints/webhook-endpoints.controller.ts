import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { EventStore } from '@app/event-store';
import { APP_CONFIG, RAW_EVENT_STORE } from '@app/infrastructure';
import type { AppConfig } from '@app/platform';
import {
  type CreatedWebhookEndpoint,
  toDeliveryView,
  type WebhookDeliveryView,
  type WebhookEndpointView,
  WebhookStore,
  webhookUrlProblem,
} from '@app/webhooks';
import { ApiErrors, ApiIdParam } from '../docs/api-docs.decorators';
import { toOpenApiSchema } from '../docs/openapi-schemas';
import { ApiError } from '../http/api-error';
import { RequireScope } from '../http/auth';
import { parseInput } from '../http/zod-validation';
import { afterCursor, type Page, toPage } from '../read-side/paging';
import { RESPONSES } from '../read-side/response-schemas';
import {
  createWebhookEndpointSchema,
  deliveriesQuerySchema,
  idSchema,
} from './webhook-endpoints.request.dto';

const CURSOR_KIND = 'webhook-deliveries';

/** A route without a body still refuses one that is not JSON, or too large, before anything. */
const BODY_REFUSALS = {
  PAYLOAD_TOO_LARGE: 'a body over 64 KiB (none is expected)',
  UNSUPPORTED_MEDIA_TYPE: 'a body that is not `application/json` (none is expected)',
} as const;

/**
 * Webhook endpoints (docs/webhooks.md), for operators (scope `ops`): register an endpoint for
 * integration-event types, list and remove endpoints, follow and retry their deliveries. The
 * deliveries themselves go out from the process holding the `webhook-dispatcher` lease.
 */
@ApiTags('webhooks')
@Controller('v1/webhook-endpoints')
@RequireScope('ops')
export class WebhookEndpointsController {
  constructor(
    private readonly store: WebhookStore,
    @Inject(RAW_EVENT_STORE) private readonly log: EventStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @ApiOperation({
    operationId: 'createWebhookEndpoint',
    summary: 'Register a webhook endpoint; its signing secret is in this answer only',
    description:
      'The endpoint receives the integration events recorded after its creation, of its `types`, each as a signed POST (Standard Webhooks).',
  })
  @ApiBody({
    required: true,
    schema: toOpenApiSchema(createWebhookEndpointSchema),
    examples: {
      some: {
        summary: 'Expiries and purges',
        value: {
          url: 'https://meetings.example.com/hooks/end-of-life',
          types: ['subscription.expired', 'subscription.purged'],
          description: 'Meeting rooms: revoke access, delete recordings',
        },
      },
      every: {
        summary: 'Every type',
        value: { url: 'https://crm.example.com/hooks/eol', types: ['*'] },
      },
    },
  })
  @ApiCreatedResponse({
    description: 'The endpoint, with its secret (shown only here)',
    schema: RESPONSES.webhookEndpointCreated,
  })
  async create(@Body() rawBody: unknown): Promise<CreatedWebhookEndpoint> {
    const body = parseInput(createWebhookEndpointSchema, rawBody, 'body');
    const problem = webhookUrlProblem(body.url, {
      production: this.config.nodeEnv === 'production',
    });
    if (problem)
      throw new ApiError('VALIDATION_FAILED', `The webhook URL ${problem}.`, {
        issues: [{ path: 'body.url', message: problem }],
      });
    const head = (await this.log.headPosition()) ?? 0n;
    return this.store.createEndpoint(
      { url: body.url, types: body.types, description: body.description ?? null },
      head,
      new Date(),
    );
  }

  @Get()
  @ApiOperation({ operationId: 'listWebhookEndpoints', summary: 'The webhook endpoints' })
  @ApiOkResponse({
    description: 'Every endpoint, oldest first, without secrets',
    schema: RESPONSES.webhookEndpointList,
  })
  async list(): Promise<{ items: WebhookEndpointView[] }> {
    return { items: await this.store.listEndpoints() };
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getWebhookEndpoint', summary: 'A webhook endpoint' })
  @ApiIdParam('id', 'The endpoint id (`we_…`)', 'we_5f1c0a9e2b7d4c3a8e6f1b2d')
  @ApiOkResponse({
    description: 'The endpoint, without its secret',
    schema: RESPONSES.webhookEndpoint,
  })
  @ApiErrors({ NOT_FOUND: 'no such endpoint' })
  async get(@Param('id', { schema: idSchema }) rawId: string): Promise<WebhookEndpointView> {
    const id = parseInput(idSchema, rawId, 'params');
    const endpoint = await this.store.getEndpoint(id);
    if (!endpoint) throw new ApiError('NOT_FOUND', `No webhook endpoint ${id}.`);
    return endpoint;
  }

  @Delete(':id')
  @ApiOperation({
    operationId: 'deleteWebhookEndpoint',
    summary: 'Remove a webhook endpoint and its deliveries',
    description: 'Nothing more is sent to it (an attempt already in flight may still arrive).',
  })
  @ApiIdParam('id', 'The endpoint id (`we_…`)', 'we_5f1c0a9e2b7d4c3a8e6f1b2d')
  @ApiOkResponse({ description: 'The endpoint removed', schema: RESPONSES.webhookEndpoint })
  @ApiErrors({ NOT_FOUND: 'no such endpoint', ...BODY_REFUSALS })
  async remove(@Param('id', { schema: idSchema }) rawId: string): Promise<WebhookEndpointView> {
    const id = parseInput(idSchema, rawId, 'params');
    const removed = await this.store.deleteEndpoint(id);
    if (!removed) throw new ApiError('NOT_FOUND', `No webhook endpoint ${id}.`);
    return removed;
  }

  @Get(':id/deliveries')
  @ApiOperation({
    operationId: 'listWebhookDeliveries',
    summary: "An endpoint's deliveries in log order, with their attempts",
  })
  @ApiIdParam('id', 'The endpoint id (`we_…`)', 'we_5f1c0a9e2b7d4c3a8e6f1b2d')
  @ApiOkResponse({ description: 'A page of deliveries', schema: RESPONSES.webhookDeliveryPage })
  @ApiErrors({ NOT_FOUND: 'no such endpoint' })
  async deliveries(
    @Param('id', { schema: idSchema }) rawId: string,
    @Query({ schema: deliveriesQuerySchema }) rawQuery: unknown,
  ): Promise<Page<WebhookDeliveryView>> {
    const id = parseInput(idSchema, rawId, 'params');
    const query = parseInput(deliveriesQuerySchema, rawQuery, 'query');
    const after = afterCursor(CURSOR_KIND, query.cursor);
    if (!(await this.store.getEndpoint(id)))
      throw new ApiError('NOT_FOUND', `No webhook endpoint ${id}.`);
    const rows = await this.store.deliveries(id, {
      status: query.status,
      after,
      limit: query.limit + 1,
    });
    return toPage(CURSOR_KIND, rows, query.limit, (p) => p.map(toDeliveryView));
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'retryWebhookDelivery',
    summary: 'Send a delivery again',
    description:
      'Whatever its state: it becomes pending, due now, with a new retry window. It still waits for earlier pending deliveries of its subscription.',
  })
  @ApiIdParam('id', 'The endpoint id (`we_…`)', 'we_5f1c0a9e2b7d4c3a8e6f1b2d')
  @ApiIdParam('deliveryId', 'The delivery id (`dlv_…`)', 'dlv_0c4b7e1f9a2d5c8e3b6a1f4d')
  @ApiAcceptedResponse({
    description: 'The delivery, pending again',
    schema: RESPONSES.webhookDelivery,
  })
  @ApiErrors({ NOT_FOUND: 'no such endpoint or delivery', ...BODY_REFUSALS })
  async retry(
    @Param('id', { schema: idSchema }) rawId: string,
    @Param('deliveryId', { schema: idSchema }) rawDeliveryId: string,
  ): Promise<WebhookDeliveryView> {
    const id = parseInput(idSchema, rawId, 'params');
    const deliveryId = parseInput(idSchema, rawDeliveryId, 'params');
    const row = await this.store.retry(id, deliveryId, new Date());
    if (!row)
      throw new ApiError('NOT_FOUND', `No delivery ${deliveryId} of webhook endpoint ${id}.`);
    return toDeliveryView(row);
  }
}
