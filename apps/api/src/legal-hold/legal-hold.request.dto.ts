import { z } from 'zod';
import { actorSchema } from '../http/common-schemas';

export const legalHoldRequestSchema = z.strictObject({
  reason: z.string().trim().min(1).max(1000),
  requestedBy: actorSchema,
});
