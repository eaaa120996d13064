import { type Money, sameMoney } from '../../kernel/actor';
import { invalidState, validationFailed } from '../../kernel/domain-error';
import { parseInstant, toInstant } from '../../kernel/time';
import type { UpdateBillingFacts } from '../subscription.commands';
import type { BillingFactsUpdated } from '../subscription.events';
import type { SubscriptionState } from '../subscription.state';
import { requireRegistered } from './require-registered';

const AMOUNT = /^-?\d+(\.\d+)?$/;
const CURRENCY = /^[A-Z]{3}$/;

function validBalance(money: Money): Money {
  if (!AMOUNT.test(money.amount) || !CURRENCY.test(money.currency))
    throw validationFailed('outstandingBalance must be a decimal amount and an ISO 4217 currency', {
      field: 'outstandingBalance',
    });
  return { amount: money.amount, currency: money.currency };
}

/**
 * D9: billing's facts change over time. The new values replace those given at registration, so
 * R6 (an outstanding balance blocks self-service cancellation) and R19 (the preview) decide on
 * the latest. Written only when a value changes (an amount is compared by value: "12.5" is
 * "12.50"); the same values again write nothing. A purged subscription has no facts left to
 * keep: INVALID_STATE.
 */
export function updateBillingFacts(
  command: UpdateBillingFacts,
  state: SubscriptionState,
): [BillingFactsUpdated] | [] {
  const c = command.data;
  const s = requireRegistered(state, c.subscriptionId);
  const now = toInstant(parseInstant(c.now, 'now'));
  if (c.outstandingBalance === undefined && c.assignedLicences === undefined)
    throw validationFailed('Give outstandingBalance, assignedLicences or both.', {
      field: 'outstandingBalance',
    });
  if (
    c.assignedLicences !== undefined &&
    (!Number.isInteger(c.assignedLicences) || c.assignedLicences < 0)
  )
    throw validationFailed('assignedLicences must be a whole number ≥ 0', {
      field: 'assignedLicences',
    });
  if (s.status === 'purged')
    throw invalidState(
      `Subscription ${s.subscriptionId} was purged at ${s.purgedAt}; it has no billing facts to update.`,
      { status: s.status },
    );

  const balance =
    c.outstandingBalance === undefined || sameMoney(c.outstandingBalance, s.outstandingBalance)
      ? s.outstandingBalance
      : validBalance(c.outstandingBalance);
  const licences = c.assignedLicences ?? s.assignedLicences;
  if (balance === s.outstandingBalance && licences === s.assignedLicences) return [];
  return [
    {
      type: 'BillingFactsUpdated',
      data: {
        subscriptionId: s.subscriptionId,
        accountId: s.accountId,
        outstandingBalance: balance,
        assignedLicences: licences,
        previous: {
          outstandingBalance: s.outstandingBalance,
          assignedLicences: s.assignedLicences,
        },
        requestedBy: c.requestedBy,
        channel: c.channel,
        updatedAt: now,
      },
    },
  ];
}
