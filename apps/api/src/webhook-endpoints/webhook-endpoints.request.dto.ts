import { z } from 'zod';
import { INTEGRATION_EVENT_TYPES } from '@app/read-models';
import { DELIVERY_STATUSES, MAX_WEBHOOK_URL_LENGTH } from '@app/webhooks';
import { freeTextSchema, idSchema } from '../http/common-schemas';
import { cursorParam, limitParam } from '../read-side/read-consistency';

export const createWebhookEndpointSchema = z.strictObject({
  url: z
    .string()
    .min(1)
    .max(MAX_WEBHOOK_URL_LENGTH)
    .describe(
      'Where deliveries are POSTed: https (http too outside NODE_ENV=production), no user name or password, no fragment; redirects are never followed',
    ),
  types: z
    .array(z.enum([...INTEGRATION_EVENT_TYPES, '*']))
    .min(1)
    .max(INTEGRATION_EVENT_TYPES.length)
    .refine((t) => new Set(t).size === t.length, { message: 'must not repeat a type' })
    .refine((t) => !t.includes('*') || t.length === 1, { message: '"*" stands alone' })
    .describe('The integration-event types to receive, or `["*"]` for every type'),
  description: freeTextSchema(500).optional().describe('For people: what the endpoint is for'),
});
export type CreateWebhookEndpointRequest = z.infer<typeof createWebhookEndpointSchema>;

export const deliveriesQuerySchema = z.strictObject({
  status: z
    .enum(DELIVERY_STATUSES)
    .optional()
    .describe('Only deliveries in this state (default: every state)'),
  limit: limitParam,
  cursor: cursorParam,
});

export { idSchema };
