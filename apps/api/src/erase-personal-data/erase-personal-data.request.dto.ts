import { z } from 'zod';
import { actorSchema } from '../http/common-schemas';

export const erasePersonalDataRequestSchema = z.strictObject({
  /** A ticket reference, not personal data: it is recorded after the account's keys are gone. */
  reason: z.string().trim().min(1).max(500),
  requestedBy: actorSchema,
});
