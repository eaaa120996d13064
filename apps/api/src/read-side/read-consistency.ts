import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { EventStore } from '@app/event-store';
import { RAW_EVENT_STORE } from '@app/infrastructure';
import {
  READ_MODELS_SETTINGS,
  ReadModelProjector,
  type ReadModelsSettings,
} from '@app/read-models';
import { ApiError } from '../http/api-error';
import { decimalParam } from '../http/common-schemas';

/** Query parameters every read-model query accepts (read-your-writes). */
export const consistencyQuery = {
  minPosition: z
    .string()
    .regex(/^\d{1,20}$/, 'must be a log position (decimal digits) from a command response')
    .optional()
    .describe(
      'Wait until the read models include this log position (the `position` of a command response) before answering.',
    ),
  maxWaitMs: decimalParam(0, 60_000)
    .optional()
    .describe(
      'Longest wait for minPosition in ms (default and cap: READ_MODEL_MAX_WAIT_MS, 5000).',
    ),
};

/** Header on every read-model answer: the log position the answer includes. */
export const READ_POSITION_HEADER = 'x-read-position';

/**
 * Read-your-writes for list and audit queries. A caller passes the `position` a command returned
 * as `?minPosition=`; the query waits (bounded) until the projection has applied it. When the
 * wait runs out the answer is 503 READ_MODEL_BEHIND with Retry-After, never a stale 200, so a
 * caller that asked for its write never silently misses it. A position beyond the end of the log
 * cannot come from a command response: 400 at once instead of a pointless wait.
 */
@Injectable()
export class ReadConsistency {
  constructor(
    private readonly projector: ReadModelProjector,
    @Inject(READ_MODELS_SETTINGS) private readonly settings: ReadModelsSettings,
    @Inject(RAW_EVENT_STORE) private readonly log: EventStore,
  ) {}

  async ensure(
    query: { minPosition?: string | undefined; maxWaitMs?: number | undefined },
    reply: FastifyReply,
  ): Promise<void> {
    if (query.minPosition !== undefined) {
      const wanted = BigInt(query.minPosition);
      const head = await this.log.headPosition();
      if (head === null || wanted > head)
        throw new ApiError('VALIDATION_FAILED', 'minPosition is beyond the end of the event log.', {
          issues: [{ path: 'query.minPosition', message: 'beyond the end of the log' }],
          head: head?.toString() ?? null,
        });
      const wait = Math.min(query.maxWaitMs ?? this.settings.maxWaitMs, this.settings.maxWaitMs);
      if (!(await this.projector.waitFor(wanted, wait))) {
        const at = await this.projector.position();
        void reply.header('retry-after', '1');
        throw new ApiError(
          'READ_MODEL_BEHIND',
          `The read models have not reached position ${wanted} yet; retry shortly.`,
          { minPosition: wanted.toString(), position: at?.toString() ?? null, waitedMs: wait },
        );
      }
    }
    const position = await this.projector.position();
    void reply.header(READ_POSITION_HEADER, position?.toString() ?? '0');
  }
}

/** `?x=a&x=b` and `?x=a,b` both give ['a', 'b']. */
export const listParam = <T extends z.ZodType<string, string>>(item: T, max = 20) =>
  z
    .union([z.string(), z.array(z.string()).max(max)])
    .transform((v) =>
      (Array.isArray(v) ? v : [v])
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    )
    .pipe(z.array(item).max(max));

export const limitParam = decimalParam(1, 1000)
  .default(100)
  .describe('Page size, at most 1000 (default 100).');

export const cursorParam = z
  .string()
  .max(200)
  .optional()
  .describe('The nextCursor of the previous page (opaque).');
