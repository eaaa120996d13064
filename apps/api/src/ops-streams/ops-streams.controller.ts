import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { EventStore } from '@app/event-store';
import { EVENT_STORE } from '@app/infrastructure';
import { inspectStream, type StreamInspection } from '@app/ops';
import { ApiErrors, ApiQueryFrom } from '../docs/api-docs.decorators';
import { toOpenApiSchema } from '../docs/openapi-schemas';
import { ApiError } from '../http/api-error';
import { RequireScope } from '../http/auth';
import { parseInput } from '../http/zod-validation';
import { RESPONSES } from '../read-side/response-schemas';

const streamIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/, {
  message: 'a stream id: letters, digits, _ . : - (at most 200)',
});
const querySchema = z.object({ asOf: z.iso.datetime({ offset: true }).optional() });

/**
 * GET /v1/streams/{streamId} (ops): the raw events of one stream and the state folded after each
 * (personal fields as the decrypting store returns them: plain while the key exists, "[erased]"
 * after a purge or erasure). `?asOf=` folds only the events recorded up to that instant.
 */
@ApiTags('operations')
@Controller('v1/streams')
export class OpsStreamsController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Get(':streamId')
  @ApiOperation({
    operationId: 'getStream',
    summary: 'The events of one stream, with the state folded after each',
    description:
      'Personal fields as the decrypting store returns them: plain while the key exists, `[erased]` after a purge or erasure. `asOf` folds only the events recorded up to that instant.',
  })
  @ApiOkResponse({ description: 'The stream', schema: RESPONSES.streamInspection })
  @ApiParam({
    name: 'streamId',
    required: true,
    description: '`subscription-<id>` or `account-<id>`',
    schema: toOpenApiSchema(streamIdSchema),
    example: 'subscription-sub_7f3a9c',
  })
  @ApiQueryFrom(querySchema, {
    asOf: 'Fold only the events recorded up to this instant (ISO 8601 with offset)',
  })
  @ApiErrors({ NOT_FOUND: 'no such stream' })
  @RequireScope('ops')
  async get(
    @Param('streamId') rawId: string,
    @Query() rawQuery: unknown,
  ): Promise<StreamInspection> {
    const streamId = parseInput(streamIdSchema, rawId, 'params');
    const query = parseInput(querySchema, rawQuery, 'query');
    const result = await inspectStream(this.store, streamId, {
      asOf: query.asOf ? new Date(query.asOf) : null,
    });
    if (!result) throw new ApiError('NOT_FOUND', `No stream ${streamId}.`);
    return result;
  }
}
