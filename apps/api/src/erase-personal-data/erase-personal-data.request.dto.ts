import { z } from 'zod';
import { actorSchema, freeTextSchema } from '../http/common-schemas';

export const erasePersonalDataRequestSchema = z.strictObject({
  /** A ticket reference, not personal data: it is recorded after the account's keys are gone. */
  reason: freeTextSchema(500).trim().min(1),
  requestedBy: actorSchema,
});
