import { z } from 'zod';
import { SURVEY_REASONS, type SurveyReason } from '@app/domain';
import { actorSchema, freeTextSchema } from '../http/common-schemas';

export const cancelSubscriptionRequestSchema = z
  .strictObject({
    requestedBy: actorSchema,
    channel: z.enum(['self_service', 'support']),
    survey: z
      .strictObject({
        reason: z.enum(SURVEY_REASONS as [SurveyReason, ...SurveyReason[]]),
        comment: freeTextSchema(2000).optional(),
      })
      .optional(),
    verification: z
      .strictObject({
        billingAdminEmail: z.email().max(254),
        paymentLast4: z.string().regex(/^\d{4}$/, 'must be the last four digits'),
        billingAddress: freeTextSchema(500).pipe(z.string().min(1)),
      })
      .optional(),
  })
  // R10: a support agent must say what was verified; malformed requests write nothing.
  .refine((b) => b.channel !== 'support' || b.verification !== undefined, {
    message: 'verification is required when channel is support (R10)',
    path: ['verification'],
  });

export type CancelSubscriptionRequest = z.infer<typeof cancelSubscriptionRequestSchema>;
