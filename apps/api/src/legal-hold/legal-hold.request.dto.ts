import { z } from 'zod';
import { actorSchema, freeTextSchema } from '../http/common-schemas';

export const legalHoldRequestSchema = z.strictObject({
  reason: freeTextSchema(1000).trim().min(1),
  requestedBy: actorSchema,
});
