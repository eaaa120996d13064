import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { IntegrationEventPage } from '@app/read-models';
import { ApiErrors } from '../docs/api-docs.decorators';
import { ApiError } from '../http/api-error';
import { RequireScope } from '../http/auth';
import { parseInput } from '../http/zod-validation';
import { RESPONSES } from '../read-side/response-schemas';
import { IntegrationEventFeed, MAX_LONG_POLLS } from './integration-events.feed';
import { listIntegrationEventsQuerySchema } from './list-integration-events.query';

/**
 * The integration-event feed (docs/integration-events.md): the public events product services
 * act on, oldest first, paged by log position. `nextCursor` is what to send as `after` next; it
 * never skips nor repeats an event, also while events are being written. With `waitMs` the
 * request long-polls when nothing is newer, and ends early when the client goes away.
 */
@ApiTags('events')
@Controller('v1/events')
export class ListIntegrationEventsController {
  constructor(private readonly feed: IntegrationEventFeed) {}

  @Get()
  @RequireScope('events:read')
  @ApiOperation({
    operationId: 'listIntegrationEvents',
    summary: 'Integration events: the pull feed (cursor pages, long-poll)',
    description:
      "The integration events (docs/integration-events.md) after the cursor `after`, oldest first, at most `limit`, optionally only some `type`s. Send the answer's `nextCursor` as `after` to get the next page: the feed never skips nor repeats an event. With `waitMs`, when nothing is newer the request waits up to that long for an event and answers as soon as one is there; at the deadline it answers an empty page (with a `nextCursor` to continue from).",
  })
  @ApiOkResponse({
    description: 'A page of integration events, oldest first, and where the next page starts',
    schema: RESPONSES.integrationEventPage,
  })
  @ApiErrors({
    VALIDATION_FAILED:
      'a malformed `after`, `limit` (1–1000) or `waitMs` (0–30000), an unknown `type`, an unknown parameter, or `after` beyond the end of the log',
    SERVICE_UNAVAILABLE: `the process is shutting down, or ${MAX_LONG_POLLS} long-polls already wait on this instance (Retry-After: 1)`,
  })
  async list(
    @Query({ schema: listIntegrationEventsQuerySchema }) rawQuery: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<IntegrationEventPage> {
    const query = parseInput(listIntegrationEventsQuerySchema, rawQuery, 'query');
    // The client going away ends the wait (the response is closed before it finished).
    const gone = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    try {
      return await this.feed.page(
        {
          after: query.after === undefined ? null : BigInt(query.after),
          types: query.type,
          limit: query.limit,
        },
        { waitMs: query.waitMs ?? 0, signal: gone.signal },
      );
    } catch (error) {
      if (error instanceof ApiError && error.code === 'SERVICE_UNAVAILABLE')
        void reply.header('retry-after', '1');
      throw error;
    } finally {
      reply.raw.off('close', onClose);
    }
  }
}
