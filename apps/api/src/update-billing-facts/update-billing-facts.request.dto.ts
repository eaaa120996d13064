import { z } from 'zod';
import { actorSchema, moneySchema } from '../http/common-schemas';

/**
 * D9: billing states its facts as they are now. A fact left out is unchanged; at least one is
 * given. `requestedBy` names a person when billing acts for one (else the service itself).
 */
export const updateBillingFactsRequestSchema = z
  .strictObject({
    outstandingBalance: moneySchema.optional(),
    assignedLicences: z.number().int().min(0).max(1_000_000).optional(),
    requestedBy: actorSchema.optional(),
  })
  .refine((b) => b.outstandingBalance !== undefined || b.assignedLicences !== undefined, {
    message: 'give outstandingBalance, assignedLicences or both (D9)',
    path: ['outstandingBalance'],
  });

export type UpdateBillingFactsRequest = z.infer<typeof updateBillingFactsRequestSchema>;
