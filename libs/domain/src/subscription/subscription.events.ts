import type { Term } from '../calendar/term-calendar';
import type { Actor, Channel, CustomerChannel, Money } from '../kernel/actor';
import type { RefusalCode } from '../kernel/domain-error';
import type { Instant } from '../kernel/time';
import type { Plan } from './plan';

/**
 * Events of one subscription's stream (`subscription-<subscriptionId>`). Plain typed objects with
 * stable type names (never class names): the log outlives the code. A changed shape gets a new
 * type name (e.g. `CancellationRequested.v2`) plus an upcaster, never an edit of an old one.
 *
 * Every event carries `subscriptionId` and `accountId` so that the log alone answers "whose?"
 * and the store can choose the subscription's personal-data key.
 */
export type Event<Type extends string, Data extends object> = Readonly<{
  type: Type;
  data: Readonly<Data>;
}>;

interface Ids {
  subscriptionId: string;
  accountId: string;
}

/** Version of the cancellation policy (R4–R13) that made a decision, kept with the decision. */
export const CANCELLATION_POLICY_VERSION = 'cancellation-policy/1';

export type SubscriptionRegistered = Event<
  'SubscriptionRegistered',
  Ids & {
    productId: string;
    plan: Plan;
    contract: boolean;
    timeZone: string;
    /** First term's start: every later term is computed from it (D4). */
    anchor: Instant;
    termIndex: number;
    currentTerm: Term;
    autoRenew: boolean;
    outstandingBalance: Money | null;
    assignedLicences: number;
    registeredAt: Instant;
  }
>;

export interface SurveyAnswer {
  reason: SurveyReason;
  /** Free text: personal data (R17), encrypted in the store. */
  comment?: string;
}
export type SurveyReason =
  | 'too_expensive'
  | 'missing_features'
  | 'switched_service'
  | 'unused'
  | 'customer_service'
  | 'too_complex'
  | 'low_quality'
  | 'other';
export const SURVEY_REASONS: readonly SurveyReason[] = [
  'too_expensive',
  'missing_features',
  'switched_service',
  'unused',
  'customer_service',
  'too_complex',
  'low_quality',
  'other',
];

/** What a support agent verified before cancelling (R10). Personal data: encrypted in the store. */
export interface SupportVerification {
  billingAdminEmail: string;
  paymentLast4: string;
  billingAddress: string;
}

/** The R9 decision, recorded whole so a dispute about notice is settled from the log. */
export interface NoticeDecision {
  renewalDate: Instant;
  /** null when the plan has no notice period (everything but fixed_term). */
  noticeDeadline: Instant | null;
  noticeDeadlineMissed: boolean;
}

export type CancellationRequested = Event<
  'CancellationRequested',
  Ids &
    NoticeDecision & {
      productId: string;
      requestedBy: Actor;
      channel: CustomerChannel;
      requestedAt: Instant;
      /** The moment access ends (= expiresAt). */
      effectiveAt: Instant;
      expiresAt: Instant;
      purgeAt: Instant;
      refund: 'none';
      policyVersion: string;
      /** R10: the account and products the agent verified; the rest is in `verification`. */
      verifiedProducts: string[] | null;
      verification: SupportVerification | null;
      survey: SurveyAnswer | null;
    }
>;

export type AutoRenewDisabled = Event<
  'AutoRenewDisabled',
  Ids & { disabledAt: Instant; reason: 'cancellation_requested' }
>;

export type CancellationRefused = Event<
  'CancellationRefused',
  Ids & {
    code: RefusalCode;
    /** The rule that refused (e.g. "R6"). */
    rule: string;
    message: string;
    requestedBy: Actor;
    channel: CustomerChannel;
    refusedAt: Instant;
    policyVersion: string;
  }
>;

export type CancellationWithdrawn = Event<
  'CancellationWithdrawn',
  Ids & {
    requestedBy: Actor;
    channel: Channel;
    withdrawnAt: Instant;
    expiresAtDropped: Instant;
    purgeAtDropped: Instant;
  }
>;

export type AutoRenewEnabled = Event<
  'AutoRenewEnabled',
  Ids & { enabledAt: Instant; reason: 'cancellation_withdrawn' }
>;

export type SubscriptionRenewed = Event<
  'SubscriptionRenewed',
  Ids & {
    renewedAt: Instant;
    previousTerm: Term;
    termIndex: number;
    currentTerm: Term;
    /** Why the term rolled: auto-renew, or a fixed-term cancellation that missed its notice (R9). */
    reason: 'auto_renew' | 'notice_deadline_missed';
  }
>;

export type SubscriptionExpired = Event<
  'SubscriptionExpired',
  Ids & {
    productId: string;
    expiresAt: Instant;
    expiredAt: Instant;
    purgeAt: Instant;
    /** Set when a termination ended it (D8); absent for a term end or a cancellation. */
    cause?: 'terminated';
    terminationReason?: TerminationReason;
  }
>;

export type RoomMeetingAccountRevoked = Event<
  'RoomMeetingAccountRevoked',
  Ids & {
    productId: string;
    revokedAt: Instant;
    /** What the revocation takes away (R18); the hardware stays with the customer. */
    revoked: ['instant_meeting', 'screen_sharing'];
    hardwareRetainedByCustomer: true;
  }
>;

export type SubscriptionReactivated = Event<
  'SubscriptionReactivated',
  Ids & {
    requestedBy: Actor;
    channel: Channel;
    reactivatedAt: Instant;
    /** The new anchor: terms are counted from the reactivation (D2). */
    anchor: Instant;
    termIndex: 0;
    currentTerm: Term;
    purgeAtDropped: Instant;
  }
>;

export type PurgeDeferred = Event<
  'PurgeDeferred',
  Ids & { deferredAt: Instant; purgeAt: Instant; reason: 'legal_hold' }
>;

export type PurgeStarted = Event<
  'PurgeStarted',
  Ids & { purgeId: string; startedAt: Instant; purgeAt: Instant; holders: string[] }
>;

/** One data holder's deletion receipt (what, where, counts, hashes; never personal data). */
export interface HolderReceipt {
  holder: string;
  itemsDeleted: number;
  bytesDeleted: number;
  contentHash: string;
  location: string;
  externalReceiptId: string | null;
}

export type ProductDataHolderPurged = Event<
  'ProductDataHolderPurged',
  Ids & { purgeId: string; purgedAt: Instant; receipt: HolderReceipt }
>;

/**
 * D11: one data holder's answer to "does anything of this subscription remain?", asked after its
 * deletion. `remainingItems` 0 is the only answer that lets a purge complete.
 */
export interface HolderVerification {
  holder: string;
  remainingItems: number;
  /** How the holder looked: `marker_scan` (the local holder: the marker it planted, its files), `http` (the holder's own verify answer). */
  method: 'marker_scan' | 'http';
  externalReceiptId: string | null;
}

/** D11: every holder of the purge confirmed that nothing of the subscription remains. */
export type PurgeVerified = Event<
  'PurgeVerified',
  Ids & { purgeId: string; verifiedAt: Instant; holders: HolderVerification[] }
>;

/**
 * D11: a holder asked what remains still found data of the subscription; the purge stays open
 * and is retried. Recorded again only when the finding changes.
 */
export type PurgeVerificationFailed = Event<
  'PurgeVerificationFailed',
  Ids & { purgeId: string; checkedAt: Instant; holders: HolderVerification[] }
>;

export interface PurgeVerification {
  verifiedAt: Instant;
  holders: HolderVerification[];
}

export interface PurgeReceipt {
  purgeId: string;
  holders: HolderReceipt[];
  /** D11: absent on receipts of purges completed before holders were asked to verify. */
  verification?: PurgeVerification;
  itemsDeleted: number;
  keysShredded: string[];
  readModelRowsScrubbed: number;
  jobsRemoved: number;
}

export type ProductDataPurged = Event<
  'ProductDataPurged',
  Ids & {
    productId: string;
    purgedAt: Instant;
    expiresAt: Instant;
    purgeAt: Instant;
    receipt: PurgeReceipt;
  }
>;

/**
 * D9: billing's facts changed (the outstanding balance, the assigned licences). Written only when
 * a value changes; carries both facts as they are now and as they were, so R6 and R19 decide on
 * the latest values and the audit trail shows the change.
 */
export type BillingFactsUpdated = Event<
  'BillingFactsUpdated',
  Ids & {
    outstandingBalance: Money | null;
    assignedLicences: number;
    previous: { outstandingBalance: Money | null; assignedLicences: number };
    /** The person billing names, if any; the platform service itself otherwise (null). */
    requestedBy: Actor | null;
    channel: Channel;
    updatedAt: Instant;
  }
>;

/** Why a platform service ends a subscription without the customer (D8). */
export type TerminationReason =
  'payment_failed' | 'payment_disputed' | 'fraud' | 'terms_violation' | 'contract_ended' | 'other';
export const TERMINATION_REASONS: readonly TerminationReason[] = [
  'payment_failed',
  'payment_disputed',
  'fraud',
  'terms_violation',
  'contract_ended',
  'other',
];

/** When a termination takes effect, as asked: now, the current term's end, or an instant between. */
export type TerminationEffective = 'immediately' | 'term_end' | 'instant';

/** D8: a platform service ends the subscription at `effectiveAt`, without the customer. */
export type TerminationScheduled = Event<
  'TerminationScheduled',
  Ids & {
    productId: string;
    reason: TerminationReason;
    effective: TerminationEffective;
    effectiveAt: Instant;
    /** effectiveAt + 90 days (D4): when the purge follows. */
    purgeAt: Instant;
    requestedBy: Actor;
    channel: 'system';
    requestedAt: Instant;
    /** Free text: personal data, encrypted in the store like the survey comment. */
    note: string | null;
  }
>;

/** D8: a termination revoked before it took effect. */
export type TerminationRevoked = Event<
  'TerminationRevoked',
  Ids & {
    requestedBy: Actor;
    channel: 'system';
    revokedAt: Instant;
    reason: TerminationReason;
    effectiveAtDropped: Instant;
  }
>;

/** D6/D8: a well-formed reactivation refused by policy (after a termination for fraud). */
export type ReactivationRefused = Event<
  'ReactivationRefused',
  Ids & {
    code: 'INVALID_STATE';
    rule: string;
    message: string;
    requestedBy: Actor;
    channel: Channel;
    refusedAt: Instant;
  }
>;

/**
 * D7: a purge notice ("back up your data before …"), issued `daysBefore` days before `purgeAt`
 * (local wall-clock time, D4) while the subscription heads for its purge. One per offset and
 * purge date, never early; the notification service turns it into the customer's reminder.
 */
export type PurgeNoticeIssued = Event<
  'PurgeNoticeIssued',
  Ids & {
    productId: string;
    purgeAt: Instant;
    daysBefore: number;
    /** The planned instant: purgeAt − daysBefore days in the account's zone. */
    noticeAt: Instant;
    issuedAt: Instant;
  }
>;

export type SubscriptionEvent =
  | SubscriptionRegistered
  | CancellationRequested
  | AutoRenewDisabled
  | CancellationRefused
  | CancellationWithdrawn
  | AutoRenewEnabled
  | SubscriptionRenewed
  | SubscriptionExpired
  | RoomMeetingAccountRevoked
  | SubscriptionReactivated
  | PurgeDeferred
  | PurgeStarted
  | ProductDataHolderPurged
  | PurgeVerified
  | PurgeVerificationFailed
  | ProductDataPurged
  | TerminationScheduled
  | TerminationRevoked
  | ReactivationRefused
  | BillingFactsUpdated
  | PurgeNoticeIssued;

export type SubscriptionEventType = SubscriptionEvent['type'];

/** Every type, once: a `Record` over the union, so a new event type does not compile until listed. */
const EVENT_TYPES: Record<SubscriptionEventType, true> = {
  SubscriptionRegistered: true,
  CancellationRequested: true,
  AutoRenewDisabled: true,
  CancellationRefused: true,
  CancellationWithdrawn: true,
  AutoRenewEnabled: true,
  SubscriptionRenewed: true,
  SubscriptionExpired: true,
  RoomMeetingAccountRevoked: true,
  SubscriptionReactivated: true,
  PurgeDeferred: true,
  PurgeStarted: true,
  ProductDataHolderPurged: true,
  PurgeVerified: true,
  PurgeVerificationFailed: true,
  ProductDataPurged: true,
  TerminationScheduled: true,
  TerminationRevoked: true,
  ReactivationRefused: true,
  BillingFactsUpdated: true,
  PurgeNoticeIssued: true,
};
export const SUBSCRIPTION_EVENT_TYPES = Object.keys(
  EVENT_TYPES,
) as readonly SubscriptionEventType[];
