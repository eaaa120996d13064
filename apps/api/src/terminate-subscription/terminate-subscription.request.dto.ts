import { z } from 'zod';
import { TERMINATION_REASONS, type TerminationReason } from '@app/domain';
import { actorSchema, freeTextSchema, instantSchema } from '../http/common-schemas';

/** D8: a platform service ends a subscription without the customer. */
export const terminateSubscriptionRequestSchema = z.strictObject({
  requestedBy: actorSchema,
  reason: z.enum(TERMINATION_REASONS as [TerminationReason, ...TerminationReason[]]),
  /** Now, the current term's end, or an instant between the two (checked by the domain). */
  effective: z.union([z.enum(['immediately', 'term_end']), instantSchema]),
  /** Free text: personal data, encrypted in the event like the survey comment. */
  note: freeTextSchema(2000).optional(),
});

export type TerminateSubscriptionRequest = z.infer<typeof terminateSubscriptionRequestSchema>;
