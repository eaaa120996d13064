import { z } from 'zod';
import { actorSchema } from '../http/common-schemas';

export const withdrawCancellationRequestSchema = z.strictObject({
  requestedBy: actorSchema,
  channel: z.enum(['self_service', 'support']),
});

export type WithdrawCancellationRequest = z.infer<typeof withdrawCancellationRequestSchema>;
