import type { Term } from '../calendar/term-calendar';
import type { Money } from '../kernel/actor';
import type { Instant } from '../kernel/time';
import type {
  HolderReceipt,
  HolderVerification,
  NoticeDecision,
  PurgeVerification,
  TerminationReason,
} from './subscription.events';
import type { Plan } from './plan';

/** What every registered subscription knows about itself, whatever its status. */
export interface SubscriptionFacts {
  readonly subscriptionId: string;
  readonly accountId: string;
  readonly productId: string;
  readonly plan: Plan;
  readonly contract: boolean;
  readonly timeZone: string;
  readonly anchor: Instant;
  readonly termIndex: number;
  readonly currentTerm: Term;
  readonly autoRenew: boolean;
  readonly outstandingBalance: Money | null;
  readonly assignedLicences: number;
  /**
   * D8: a termination scheduled (pending until `effectiveAt`) or that ended the subscription.
   * Absent when there is none (states folded before terminations existed have no such field).
   */
  readonly termination?: Termination;
}

export interface Termination {
  readonly reason: TerminationReason;
  readonly effectiveAt: Instant;
  readonly purgeAt: Instant;
  readonly requestedAt: Instant;
}

export interface PendingCancellation extends NoticeDecision {
  readonly requestedAt: Instant;
  /** The cancellation's own dates (a termination may bring the expiry earlier while pending). */
  readonly expiresAt?: Instant;
  readonly purgeAt?: Instant;
}

/** D7: a purge notice issued (PurgeNoticeIssued), as the expired state remembers it. */
export interface IssuedPurgeNotice {
  readonly daysBefore: number;
  readonly noticeAt: Instant;
  readonly issuedAt: Instant;
}

export interface PurgeInProgress {
  readonly purgeId: string;
  readonly startedAt: Instant;
  readonly holders: readonly string[];
  readonly done: readonly HolderReceipt[];
  /** D11: set once every holder confirmed that nothing remains (PurgeVerified). */
  readonly verification?: PurgeVerification;
  /** D11: the last finding of data left behind (PurgeVerificationFailed), while not verified. */
  readonly remaining?: readonly HolderVerification[];
}

export type SubscriptionState =
  | { readonly status: 'unregistered' }
  | (SubscriptionFacts & {
      readonly status: 'trial';
      /** The trial's end: a trial simply expires (R11). */
      readonly expiresAt: Instant;
    })
  | (SubscriptionFacts & {
      readonly status: 'active';
      /** Set when auto-renew is off without a cancellation (registered so): the term end expires it. */
      readonly expiresAt: Instant | null;
    })
  | (SubscriptionFacts & {
      readonly status: 'cancellation_pending';
      readonly expiresAt: Instant;
      readonly purgeAt: Instant;
      readonly cancellation: PendingCancellation;
    })
  | (SubscriptionFacts & {
      readonly status: 'expired';
      readonly expiresAt: Instant;
      readonly purgeAt: Instant;
      readonly expiredAt: Instant;
      readonly purgeDeferred: boolean;
      readonly purge: PurgeInProgress | null;
      /**
       * D7: the purge notices issued for this expiry's purgeAt, in the order issued. Absent when
       * none was (and in states folded before notices existed).
       */
      readonly noticesIssued?: readonly IssuedPurgeNotice[];
    })
  | (SubscriptionFacts & {
      readonly status: 'purged';
      readonly expiresAt: Instant;
      readonly purgeAt: Instant;
      readonly purgedAt: Instant;
    });

export type SubscriptionStatus = SubscriptionState['status'];
export type RegisteredSubscription = Exclude<SubscriptionState, { status: 'unregistered' }>;

export const initialSubscriptionState = (): SubscriptionState => ({ status: 'unregistered' });

/** A subscription that has not expired yet: it can still end (a term end, a termination). */
export type LiveSubscription = Extract<
  SubscriptionState,
  { status: 'trial' | 'active' | 'cancellation_pending' }
>;

export const isLive = (state: SubscriptionState): state is LiveSubscription =>
  state.status === 'trial' || state.status === 'active' || state.status === 'cancellation_pending';

/** The termination still to take effect (D8): scheduled, the subscription not expired yet. */
export function pendingTermination(state: SubscriptionState): Termination | null {
  return isLive(state) ? (state.termination ?? null) : null;
}

export function isRegistered(state: SubscriptionState): state is RegisteredSubscription {
  return state.status !== 'unregistered';
}

/** The facts part of a registered state, without its status-specific fields. */
export function factsOf(state: RegisteredSubscription): SubscriptionFacts {
  const {
    subscriptionId,
    accountId,
    productId,
    plan,
    contract,
    timeZone,
    anchor,
    termIndex,
    currentTerm,
    autoRenew,
    outstandingBalance,
    assignedLicences,
    termination,
  } = state;
  return {
    ...(termination ? { termination } : {}),
    subscriptionId,
    accountId,
    productId,
    plan,
    contract,
    timeZone,
    anchor,
    termIndex,
    currentTerm,
    autoRenew,
    outstandingBalance,
    assignedLicences,
  };
}
