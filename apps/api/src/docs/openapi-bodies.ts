import type { z } from 'zod';
import { cancelSubscriptionRequestSchema } from '../cancel-subscription/cancel-subscription.request.dto';
import { erasePersonalDataRequestSchema } from '../erase-personal-data/erase-personal-data.request.dto';
import { legalHoldRequestSchema } from '../legal-hold/legal-hold.request.dto';
import { reactivateSubscriptionRequestSchema } from '../reactivate-subscription/reactivate-subscription.request.dto';
import { revokeTerminationRequestSchema } from '../revoke-termination/revoke-termination.request.dto';
import { terminateSubscriptionRequestSchema } from '../terminate-subscription/terminate-subscription.request.dto';
import { registerSubscriptionRequestSchema } from '../register-subscription/register-subscription.request.dto';
import { updateBillingFactsRequestSchema } from '../update-billing-facts/update-billing-facts.request.dto';
import { withdrawCancellationRequestSchema } from '../withdraw-cancellation/withdraw-cancellation.request.dto';

/**
 * Request bodies of the command routes, by "METHOD path": the same zod schemas the controllers
 * validate with, so the document cannot drift from the validation. Controllers that declare
 * `@Body({ schema })` themselves need no entry here.
 */
export const COMMAND_BODIES: Readonly<Record<string, z.ZodType>> = {
  'post /v1/subscriptions': registerSubscriptionRequestSchema,
  'post /v1/subscriptions/{id}/cancellation': cancelSubscriptionRequestSchema,
  'delete /v1/subscriptions/{id}/cancellation': withdrawCancellationRequestSchema,
  'post /v1/subscriptions/{id}/reactivation': reactivateSubscriptionRequestSchema,
  'post /v1/subscriptions/{id}/termination': terminateSubscriptionRequestSchema,
  'delete /v1/subscriptions/{id}/termination': revokeTerminationRequestSchema,
  'post /v1/accounts/{accountId}/legal-hold': legalHoldRequestSchema,
  'delete /v1/accounts/{accountId}/legal-hold': legalHoldRequestSchema,
  'post /v1/accounts/{accountId}/erasure': erasePersonalDataRequestSchema,
  'put /v1/subscriptions/{id}/billing-facts': updateBillingFactsRequestSchema,
};
