import { z } from 'zod';
import { MAX_TERM_MONTHS, MAX_TRIAL_DAYS, PRODUCT_IDS } from '@app/domain';
import { idSchema, instantSchema, moneySchema } from '../http/common-schemas';

export const planSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('monthly') }),
  z.strictObject({ kind: z.literal('annual') }),
  z.strictObject({
    kind: z.literal('fixed_term'),
    termMonths: z.number().int().min(1).max(MAX_TERM_MONTHS),
  }),
  z.strictObject({
    kind: z.literal('trial'),
    trialDays: z.number().int().min(1).max(MAX_TRIAL_DAYS),
  }),
]);

export const registerSubscriptionRequestSchema = z.strictObject({
  subscriptionId: idSchema.optional(),
  accountId: idSchema,
  productId: z.enum(PRODUCT_IDS as [string, ...string[]], {
    message: `must be one of ${PRODUCT_IDS.join(', ')}`,
  }),
  plan: planSchema,
  termStart: instantSchema,
  timeZone: z.string().min(1).max(64),
  contract: z.boolean(),
  autoRenew: z.boolean(),
  outstandingBalance: moneySchema.optional(),
  assignedLicences: z.number().int().min(0).max(1_000_000).optional(),
});

export type RegisterSubscriptionRequest = z.infer<typeof registerSubscriptionRequestSchema>;
