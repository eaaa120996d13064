import {
  DEFAULT_PURGE_NOTICE_DAYS,
  type Money,
  type Plan,
  plannedPurgeNotices,
  type RegisteredSubscription,
  type TerminationReason,
} from '@app/domain';

/** D7: a purge notice planned (issuedAt null) or issued. */
export interface PurgeNoticeView {
  daysBefore: number;
  noticeAt: string;
  issuedAt: string | null;
}

/** The `Subscription` resource of docs/http-api.md. */
export interface SubscriptionView {
  subscriptionId: string;
  accountId: string;
  productId: string;
  plan: Plan;
  contract: boolean;
  timeZone: string;
  status: RegisteredSubscription['status'];
  autoRenew: boolean;
  currentTerm: { start: string; end: string };
  expiresAt: string | null;
  purgeAt: string | null;
  purgedAt: string | null;
  legalHold: boolean;
  revision: number;
  /** R16: listed as active but pending until this instant. */
  pendingUntil: string | null;
  /** D8: a termination pending or that ended the subscription. */
  termination: { reason: TerminationReason; effectiveAt: string; requestedAt: string } | null;
  /** D9: billing's latest balance (null: billing never gave one). */
  outstandingBalance: Money | null;
  /** D9: billing's latest count of assigned licences. */
  assignedLicences: number | null;
  /** D7: the purge notices planned for the purge ahead, and those issued; [] when none. */
  purgeNotices: PurgeNoticeView[];
}

export function toSubscriptionView(
  state: RegisteredSubscription,
  revision: number,
  legalHold: boolean,
  /** D7: the configured offsets (PURGE_NOTICE_DAYS). */
  purgeNoticeDays: readonly number[] = DEFAULT_PURGE_NOTICE_DAYS,
): SubscriptionView {
  return {
    subscriptionId: state.subscriptionId,
    accountId: state.accountId,
    productId: state.productId,
    plan: state.plan,
    contract: state.contract,
    timeZone: state.timeZone,
    status: state.status,
    autoRenew: state.autoRenew,
    currentTerm: { start: state.currentTerm.start, end: state.currentTerm.end },
    expiresAt: state.expiresAt,
    purgeAt: 'purgeAt' in state ? state.purgeAt : null,
    purgedAt: state.status === 'purged' ? state.purgedAt : null,
    legalHold,
    revision,
    pendingUntil: state.status === 'cancellation_pending' ? state.expiresAt : null,
    termination: state.termination
      ? {
          reason: state.termination.reason,
          effectiveAt: state.termination.effectiveAt,
          requestedAt: state.termination.requestedAt,
        }
      : null,
    outstandingBalance: state.outstandingBalance,
    assignedLicences: state.assignedLicences,
    purgeNotices: plannedPurgeNotices(state, purgeNoticeDays).map((n) => ({
      daysBefore: n.daysBefore,
      noticeAt: n.noticeAt,
      issuedAt: n.issuedAt,
    })),
  };
}
