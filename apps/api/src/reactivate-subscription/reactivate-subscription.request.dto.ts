import { z } from 'zod';
import { actorSchema } from '../http/common-schemas';

export const reactivateSubscriptionRequestSchema = z.strictObject({
  requestedBy: actorSchema,
  channel: z.enum(['self_service', 'support']),
});

export type ReactivateSubscriptionRequest = z.infer<typeof reactivateSubscriptionRequestSchema>;
