import type { Actor, Money } from '../kernel/actor';
import { registerSubscription } from '../subscription/decide/register-subscription.decide';
import { requestCancellation } from '../subscription/decide/request-cancellation.decide';
import { fold } from '../kernel/decider';
import { subscriptionDecider } from '../deciders';
import type { Plan } from '../subscription/plan';
import type {
  SubscriptionEvent,
  SubscriptionRegistered,
  SupportVerification,
} from '../subscription/subscription.events';
import type {
  RegisterSubscription,
  RequestCancellation,
  SubscriptionCommand,
  UpdateBillingFacts,
} from '../subscription/subscription.commands';

export const SUB = 'sub_1';
export const ACC = 'acc_1';
export const billingAdmin: Actor = { actorId: 'usr_billing', role: 'billing_admin' };
export const productAdmin: Actor = { actorId: 'usr_product', role: 'product_admin' };
export const billingContact: Actor = { actorId: 'usr_contact', role: 'authorized_billing_contact' };
export const plainUser: Actor = { actorId: 'usr_plain', role: 'user' };
export const verification: SupportVerification = {
  billingAdminEmail: 'anna.rossi@example.it',
  paymentLast4: '4242',
  billingAddress: 'Via Roma 1, 00100 Roma',
};

export interface RegistrationOptions {
  subscriptionId?: string;
  accountId?: string;
  productId?: string;
  plan?: Plan;
  termStart?: string;
  timeZone?: string;
  contract?: boolean;
  autoRenew?: boolean;
  outstandingBalance?: Money | null;
  assignedLicences?: number;
  now?: string;
}

/**
 * The registration the tests start from unless they say otherwise, written once for all of them
 * (domain specs, the HTTP body in test/support/app-harness.ts, the command-side and lifecycle
 * tests): sub_1 of acc_1, a monthly goto-meeting subscription anchored on 31 January 2026 in Rome,
 * renewing, nothing outstanding, registered at its term start.
 */
export function registration(o: RegistrationOptions = {}): Required<RegisterSubscription['data']> {
  const termStart = o.termStart ?? '2026-01-31T00:00:00+01:00';
  return {
    subscriptionId: o.subscriptionId ?? SUB,
    accountId: o.accountId ?? ACC,
    productId: o.productId ?? 'goto-meeting',
    plan: o.plan ?? { kind: 'monthly' },
    termStart,
    timeZone: o.timeZone ?? 'Europe/Rome',
    contract: o.contract ?? false,
    autoRenew: o.autoRenew ?? true,
    outstandingBalance: o.outstandingBalance ?? null,
    assignedLicences: o.assignedLicences ?? 0,
    now: o.now ?? termStart,
  };
}

/** A SubscriptionRegistered event made by the real decider (so fixtures cannot drift from it). */
export function registered(o: RegistrationOptions = {}): SubscriptionRegistered {
  const [event] = registerSubscription(
    { type: 'RegisterSubscription', data: registration(o) },
    { status: 'unregistered' },
  );
  return event;
}

export function cancel(
  now: string,
  o: Partial<RequestCancellation['data']> = {},
): RequestCancellation {
  return {
    type: 'RequestCancellation',
    data: { subscriptionId: SUB, requestedBy: billingAdmin, channel: 'self_service', now, ...o },
  };
}

/** Events of a cancellation that succeeded, made by the real decider. */
export function cancelled(
  history: SubscriptionEvent[],
  now: string,
  o: Partial<RequestCancellation['data']> = {},
) {
  return requestCancellation(cancel(now, o), fold(subscriptionDecider, history));
}

/** The history after each command is decided on it in turn (the decider writes the fixtures). */
export function after(
  history: SubscriptionEvent[],
  ...commands: SubscriptionCommand[]
): SubscriptionEvent[] {
  let events = [...history];
  for (const command of commands)
    events = [...events, ...subscriptionDecider.decide(command, fold(subscriptionDecider, events))];
  return events;
}

export const termEnd = (now: string): SubscriptionCommand => ({
  type: 'ProcessTermEnd',
  data: { subscriptionId: SUB, now },
});

/** The term-end job for `dueAt`, run at `now` (the scheduler's command names its term end). */
export const termEndJob = (dueAt: string, now: string): SubscriptionCommand => ({
  type: 'ProcessTermEnd',
  data: { subscriptionId: SUB, now, dueAt },
});

/** D9: billing states its facts (a platform service: channel system, nobody named by default). */
export const updateFacts = (
  now: string,
  facts: { outstandingBalance?: Money; assignedLicences?: number },
  o: Partial<Omit<UpdateBillingFacts['data'], 'outstandingBalance' | 'assignedLicences'>> = {},
): UpdateBillingFacts => ({
  type: 'UpdateBillingFacts',
  data: { subscriptionId: SUB, requestedBy: null, channel: 'system', now, ...facts, ...o },
});

/** D11: every named holder answers that nothing of the subscription remains. */
export const verifyNothingLeft = (
  purgeId: string,
  holders: readonly string[],
  now: string,
): SubscriptionCommand => ({
  type: 'VerifyPurge',
  data: {
    subscriptionId: SUB,
    purgeId,
    verifications: holders.map((holder) => ({
      holder,
      remainingItems: 0,
      method: 'marker_scan',
      externalReceiptId: null,
    })),
    now,
  },
});

/** A purge with no data holders, from start to receipt (verified: there was nobody to ask). */
export const purgeWithoutHolders = (purgeId: string, now: string): SubscriptionCommand[] => [
  {
    type: 'StartPurge',
    data: { subscriptionId: SUB, purgeId, holders: [], legalHold: false, now },
  },
  verifyNothingLeft(purgeId, [], now),
  {
    type: 'CompletePurge',
    data: {
      subscriptionId: SUB,
      purgeId,
      keysShredded: [],
      readModelRowsScrubbed: 0,
      jobsRemoved: 0,
      now,
    },
  },
];
