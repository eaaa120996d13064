import { z } from 'zod';
import { idSchema, instantSchema } from '../http/common-schemas';
import {
  consistencyQuery,
  cursorParam,
  limitParam,
  listParam,
} from '../read-side/read-consistency';

const eventType = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.]{0,99}$/, 'must be an event type name, e.g. CancellationRefused');

export const auditEventsQuerySchema = z
  .strictObject({
    accountId: idSchema.optional(),
    subscriptionId: idSchema.optional(),
    actorId: z.string().min(1).max(128).optional().describe('requestedBy.actorId of the command'),
    type: listParam(eventType)
      .optional()
      .describe('Event types (repeat the parameter or separate with commas).'),
    from: instantSchema.optional().describe('recordedAt at or after (inclusive).'),
    to: instantSchema.optional().describe('recordedAt before (exclusive).'),
    limit: limitParam,
    cursor: cursorParam,
    format: z
      .enum(['json', 'ndjson'])
      .optional()
      .describe(
        'ndjson (or Accept: application/x-ndjson) streams every match, one AuditEvent per line; limit does not apply.',
      ),
    ...consistencyQuery,
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), {
    message: 'from must not be after to',
    path: ['from'],
  });

export type AuditEventsQuery = z.infer<typeof auditEventsQuerySchema>;
