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
 * validate with, so the document cannot drift from the validation. Every route listed here is a
 * command (CommandEndpoint): the document gives it the Idempotency-Key header and the errors of
 * the command path (409 CONCURRENCY_CONFLICT, 422 IDEMPOTENCY_KEY_REUSED). Routes with another
 * body (the clock, replay) declare it with `@ApiBody` on the controller.
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

/** A named example of a request body (OpenAPI Example Object). */
export interface BodyExample {
  summary: string;
  value: unknown;
}

const customer = { actorId: 'usr_anna', role: 'billing_admin' };
const operator = { actorId: 'ops_marco', role: 'operator' };
const billing = { actorId: 'svc_billing', role: 'system' };

/** Examples of the command bodies, by the same keys (the document test wants one per body). */
export const COMMAND_EXAMPLES: Readonly<Record<string, Record<string, BodyExample>>> = {
  'post /v1/subscriptions': {
    monthly: {
      summary: 'A monthly subscription bought in the web shop',
      value: {
        subscriptionId: 'sub_7f3a9c',
        accountId: 'acc_4711',
        productId: 'goto-meeting',
        plan: { kind: 'monthly' },
        termStart: '2026-01-31T00:00:00+01:00',
        timeZone: 'Europe/Rome',
        contract: false,
        autoRenew: true,
      },
    },
    contract: {
      summary: 'A 24-month contract with a balance owed and licences assigned',
      value: {
        accountId: 'acc_4711',
        productId: 'goto-connect',
        plan: { kind: 'fixed_term', termMonths: 24 },
        termStart: '2026-01-01T00:00:00Z',
        timeZone: 'Europe/Berlin',
        contract: true,
        autoRenew: true,
        outstandingBalance: { amount: '12.50', currency: 'EUR' },
        assignedLicences: 25,
      },
    },
  },
  'post /v1/subscriptions/{id}/cancellation': {
    selfService: {
      summary: 'The billing admin cancels in the portal, with a survey answer',
      value: {
        requestedBy: customer,
        channel: 'self_service',
        survey: { reason: 'too_expensive', comment: 'We moved to a cheaper plan.' },
      },
    },
    support: {
      summary: 'A support agent cancels after verifying the caller (R10)',
      value: {
        requestedBy: { actorId: 'agt_luca', role: 'billing_admin' },
        channel: 'support',
        verification: {
          billingAdminEmail: 'anna.rossi@example.com',
          paymentLast4: '4242',
          billingAddress: 'Via Roma 1, 00100 Roma',
        },
      },
    },
  },
  'delete /v1/subscriptions/{id}/cancellation': {
    withdraw: {
      summary: 'The billing admin changes their mind before the term ends (D1)',
      value: { requestedBy: customer, channel: 'self_service' },
    },
  },
  'post /v1/subscriptions/{id}/reactivation': {
    reactivate: {
      summary: 'Reactivation within the 90 days before the purge (D2)',
      value: { requestedBy: customer, channel: 'support' },
    },
  },
  'put /v1/subscriptions/{id}/billing-facts': {
    balance: {
      summary: 'Billing reports a balance owed after a failed payment (D9)',
      value: { outstandingBalance: { amount: '49.00', currency: 'EUR' } },
    },
    settled: {
      summary: 'The balance is settled and licences reassigned',
      value: { outstandingBalance: { amount: '0.00', currency: 'EUR' }, assignedLicences: 12 },
    },
  },
  'post /v1/subscriptions/{id}/termination': {
    termEnd: {
      summary: 'Billing ends the subscription at its term end for failed payment',
      value: { requestedBy: billing, reason: 'payment_failed', effective: 'term_end' },
    },
    instant: {
      summary: 'Ends it at a given instant before the term end, with a note',
      value: {
        requestedBy: billing,
        reason: 'contract_ended',
        effective: '2026-02-20T00:00:00+01:00',
        note: 'Contract 2024-118 ended early by mutual agreement.',
      },
    },
  },
  'delete /v1/subscriptions/{id}/termination': {
    revoke: {
      summary: 'The payment came in after all',
      value: { requestedBy: billing },
    },
  },
  'post /v1/accounts/{accountId}/legal-hold': {
    place: {
      summary: 'Legal places a hold for a pending case (D3)',
      value: { reason: 'Case 2026-031: preserve all records', requestedBy: operator },
    },
  },
  'delete /v1/accounts/{accountId}/legal-hold': {
    release: {
      summary: 'The case is closed; deferred purges run',
      value: { reason: 'Case 2026-031 closed', requestedBy: operator },
    },
  },
  'post /v1/accounts/{accountId}/erasure': {
    erase: {
      summary: 'A GDPR erasure request, by ticket (R17)',
      value: { reason: 'GDPR-2026-0042', requestedBy: operator },
    },
  },
};
