import { findProduct } from '../../catalogue/product-catalogue';
import { termAt, termIndexAt } from '../../calendar/term-calendar';
import { invalidState, validationFailed } from '../../kernel/domain-error';
import { isValidTimeZone, parseInstant, toInstant } from '../../kernel/time';
import { MAX_TERM_MONTHS, MAX_TRIAL_DAYS, type Plan } from '../plan';
import type { RegisterSubscription } from '../subscription.commands';
import type { SubscriptionRegistered } from '../subscription.events';
import type { SubscriptionState } from '../subscription.state';

function validPlan(plan: Plan): Plan {
  switch (plan.kind) {
    case 'monthly':
    case 'annual':
      return { kind: plan.kind };
    case 'fixed_term':
      if (
        !Number.isInteger(plan.termMonths) ||
        plan.termMonths < 1 ||
        plan.termMonths > MAX_TERM_MONTHS
      )
        throw validationFailed(
          `plan.termMonths must be a whole number from 1 to ${MAX_TERM_MONTHS}`,
        );
      return { kind: 'fixed_term', termMonths: plan.termMonths };
    case 'trial':
      if (
        !Number.isInteger(plan.trialDays) ||
        plan.trialDays < 1 ||
        plan.trialDays > MAX_TRIAL_DAYS
      )
        throw validationFailed(`plan.trialDays must be a whole number from 1 to ${MAX_TRIAL_DAYS}`);
      return { kind: 'trial', trialDays: plan.trialDays };
    default:
      throw validationFailed(
        `unknown plan kind ${JSON.stringify((plan as { kind: unknown }).kind)}`,
      );
  }
}

/**
 * Registers a subscription bought elsewhere. An anchor in the past (a migrated subscription)
 * lands in the term that contains `now`, computed on the anchored calendar (D4).
 */
export function registerSubscription(
  command: RegisterSubscription,
  state: SubscriptionState,
): [SubscriptionRegistered] {
  const c = command.data;
  if (state.status !== 'unregistered')
    throw invalidState(`Subscription ${c.subscriptionId} is already registered.`);
  if (!findProduct(c.productId))
    throw validationFailed(`Unknown productId ${JSON.stringify(c.productId)}`, {
      field: 'productId',
    });
  if (!isValidTimeZone(c.timeZone))
    throw validationFailed(`Unknown time zone ${JSON.stringify(c.timeZone)}`, {
      field: 'timeZone',
    });
  const plan = validPlan(c.plan);
  const assignedLicences = c.assignedLicences ?? 0;
  if (!Number.isInteger(assignedLicences) || assignedLicences < 0)
    throw validationFailed('assignedLicences must be a whole number ≥ 0', {
      field: 'assignedLicences',
    });

  const anchor = toInstant(parseInstant(c.termStart, 'termStart'));
  const now = toInstant(parseInstant(c.now, 'now'));
  const termIndex = termIndexAt(anchor, c.timeZone, plan, now);
  return [
    {
      type: 'SubscriptionRegistered',
      data: {
        subscriptionId: c.subscriptionId,
        accountId: c.accountId,
        productId: c.productId,
        plan,
        contract: c.contract,
        timeZone: c.timeZone,
        anchor,
        termIndex,
        currentTerm: termAt(anchor, c.timeZone, plan, termIndex),
        autoRenew: plan.kind === 'trial' ? false : c.autoRenew,
        outstandingBalance: c.outstandingBalance ?? null,
        assignedLicences,
        registeredAt: now,
      },
    },
  ];
}
