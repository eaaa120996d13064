import { z } from 'zod';
import { consistencyQuery, listParam } from '../read-side/read-consistency';

export const SUBSCRIPTION_STATUSES = [
  'trial',
  'active',
  'cancellation_pending',
  'expired',
  'purged',
] as const;

export const listAccountSubscriptionsQuerySchema = z.strictObject({
  status: listParam(z.enum(SUBSCRIPTION_STATUSES), SUBSCRIPTION_STATUSES.length)
    .optional()
    .describe('Only these statuses (repeat the parameter or separate with commas).'),
  section: z
    .enum(['active', 'expired'])
    .optional()
    .describe(
      'R16: `active` = trial, active and cancellation_pending; `expired` = expired and purged.',
    ),
  ...consistencyQuery,
});
