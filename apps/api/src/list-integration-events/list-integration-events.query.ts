import { z } from 'zod';
import { INTEGRATION_EVENT_TYPES } from '@app/read-models';
import { decimalParam } from '../http/common-schemas';
import { limitParam, listParam } from '../read-side/read-consistency';

/** The longest long-poll a request may ask for (`waitMs`); more is a 400. */
export const MAX_WAIT_MS = 30_000;

/** Positions are PostgreSQL bigints: a larger `after` could never come from the feed. */
const MAX_POSITION = 2n ** 63n - 1n;

export const listIntegrationEventsQuerySchema = z.strictObject({
  after: z
    .string()
    .regex(/^\d{1,19}$/, 'must be a log position in decimal digits (a nextCursor)')
    // zod runs the refinement after a failed regex too: BigInt only of digits.
    .refine((s) => !/^\d+$/.test(s) || BigInt(s) <= MAX_POSITION, {
      message: 'must be at most 2^63 - 1',
    })
    .optional()
    .describe(
      'Exclusive cursor: the `nextCursor` of the previous answer, or the `position` of the last event handled. Absent: from the start of the log. A position beyond the end of the log is a 400.',
    ),
  type: listParam(z.enum(INTEGRATION_EVENT_TYPES), INTEGRATION_EVENT_TYPES.length)
    .refine((types) => types.length > 0, { message: 'must name at least one type' })
    // What the document says: a list of the types, repeated (`type=a&type=b`, OpenAPI's form
    // style); the comma-separated spelling is accepted too.
    .meta({
      anyOf: undefined,
      type: 'array',
      items: { type: 'string', enum: [...INTEGRATION_EVENT_TYPES] },
      maxItems: INTEGRATION_EVENT_TYPES.length,
    })
    .optional()
    .describe(
      'Only these integration-event types: repeat the parameter (`type=a&type=b`) or separate them with commas (`type=a,b`). An unknown type is a 400. Absent: every type.',
    ),
  limit: limitParam,
  waitMs: decimalParam(0, MAX_WAIT_MS)
    .optional()
    .describe(
      'Long-poll: when no event is newer than `after`, wait up to this many milliseconds (0–30000, default 0) for one before answering; at the deadline the answer is an empty page.',
    ),
});

export type ListIntegrationEventsQuery = z.infer<typeof listIntegrationEventsQuerySchema>;
