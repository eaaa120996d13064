import type { Actor, Channel, CustomerChannel, Money } from '../kernel/actor';
import type { Instant } from '../kernel/time';
import type {
  HolderReceipt,
  HolderVerification,
  SupportVerification,
  SurveyAnswer,
  TerminationReason,
} from './subscription.events';
import type { Plan } from './plan';

/**
 * Commands to one subscription. Time comes in with the command (`now`, from the injected clock:
 * D5); ids too. Nothing here reads the system clock or generates randomness.
 */
export type Command<Type extends string, Data extends object> = Readonly<{
  type: Type;
  data: Readonly<Data>;
}>;

export type RegisterSubscription = Command<
  'RegisterSubscription',
  {
    subscriptionId: string;
    accountId: string;
    productId: string;
    plan: Plan;
    termStart: Instant;
    timeZone: string;
    contract: boolean;
    autoRenew: boolean;
    outstandingBalance?: Money | null;
    assignedLicences?: number;
    now: Instant;
  }
>;

export type RequestCancellation = Command<
  'RequestCancellation',
  {
    subscriptionId: string;
    requestedBy: Actor;
    channel: CustomerChannel;
    survey?: SurveyAnswer | null;
    verification?: SupportVerification | null;
    now: Instant;
  }
>;

export type WithdrawCancellation = Command<
  'WithdrawCancellation',
  { subscriptionId: string; requestedBy: Actor; channel: Channel; now: Instant }
>;

/**
 * Fired by the scheduler at a term end: expires, or renews when auto-renew is on (R14).
 * `dueAt` is the term end the job was scheduled for; with it the command applies only while that
 * is still the state's next term end (a job guard: see processTermEnd). Without it (ops, tests)
 * any term end due by `now` is processed.
 */
export type ProcessTermEnd = Command<
  'ProcessTermEnd',
  { subscriptionId: string; now: Instant; dueAt?: Instant | null }
>;

export type ReactivateSubscription = Command<
  'ReactivateSubscription',
  { subscriptionId: string; requestedBy: Actor; channel: Channel; now: Instant }
>;

/**
 * Fired by the scheduler at purgeAt. `legalHold` is the account's hold as folded from the account
 * stream by the caller (D3), `holders` the data holders registered for the product, `purgeId` a
 * deterministic id chosen by the caller.
 */
export type StartPurge = Command<
  'StartPurge',
  { subscriptionId: string; purgeId: string; holders: string[]; legalHold: boolean; now: Instant }
>;

export type RecordHolderPurged = Command<
  'RecordHolderPurged',
  { subscriptionId: string; purgeId: string; receipt: HolderReceipt; now: Instant }
>;

/** D11: every holder's answer to the verification asked after its deletion. */
export type VerifyPurge = Command<
  'VerifyPurge',
  { subscriptionId: string; purgeId: string; verifications: HolderVerification[]; now: Instant }
>;

export type CompletePurge = Command<
  'CompletePurge',
  {
    subscriptionId: string;
    purgeId: string;
    keysShredded: string[];
    readModelRowsScrubbed: number;
    jobsRemoved: number;
    now: Instant;
  }
>;

/**
 * D8: a platform service ends the subscription without the customer, now (`immediately`), at the
 * current term's end (`term_end`) or at an instant between now and then.
 */
export type ScheduleTermination = Command<
  'ScheduleTermination',
  {
    subscriptionId: string;
    requestedBy: Actor;
    reason: TerminationReason;
    /** `immediately`, `term_end`, or an ISO 8601 instant between now and the term's end. */
    effective: string;
    note?: string | null;
    now: Instant;
  }
>;

/** D8: revokes a termination that has not taken effect yet. */
export type RevokeTermination = Command<
  'RevokeTermination',
  { subscriptionId: string; requestedBy: Actor; now: Instant }
>;

/**
 * D9: billing's facts as billing now states them. A fact left out is unchanged; at least one is
 * given. Nothing is written when both equal the current values.
 */
export type UpdateBillingFacts = Command<
  'UpdateBillingFacts',
  {
    subscriptionId: string;
    outstandingBalance?: Money;
    assignedLicences?: number;
    requestedBy: Actor | null;
    channel: Channel;
    now: Instant;
  }
>;

/**
 * D7: fired by the scheduler at a purge notice's instant (`purgeAt − daysBefore` days, local
 * wall-clock time). `dueAt` is the notice instant the job was scheduled for; with it the command
 * applies only while that is still the notice this state plans (a job for an older purge date
 * does nothing). The offsets themselves are configuration: the caller names the one it fires for.
 */
export type IssuePurgeNotice = Command<
  'IssuePurgeNotice',
  { subscriptionId: string; daysBefore: number; dueAt?: Instant | null; now: Instant }
>;

export type SubscriptionCommand =
  | RegisterSubscription
  | RequestCancellation
  | WithdrawCancellation
  | ProcessTermEnd
  | ReactivateSubscription
  | StartPurge
  | RecordHolderPurged
  | VerifyPurge
  | CompletePurge
  | ScheduleTermination
  | RevokeTermination
  | UpdateBillingFacts
  | IssuePurgeNotice;
