import {
  type AccountEvent,
  type AccountEventType,
  ACCOUNT_EVENT_TYPES,
  type Actor,
  type SubscriptionEvent,
  type SubscriptionEventType,
  SUBSCRIPTION_EVENT_TYPES,
  subscriptionDecider,
  type SubscriptionState,
} from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import {
  billingAdmin,
  registered,
  verification,
} from '../../../domain/src/testing/subscription.fixtures';
import {
  accountIntegrationEvent,
  INTEGRATION_EVENT_TYPES,
  type IntegrationEvent,
  subscriptionIntegrationEvent,
} from './integration-event';

/** Personal values planted in every field that may hold one; none may leave in an integration event. */
const PLANTED = {
  comment: 'PLANTED-survey-comment: ask Grace about the invoice',
  email: 'planted.verifier@example.org',
  last4: '7391',
  address: 'PLANTED 12 Privet Drive, Little Whinging',
  holdReason: 'PLANTED-hold: litigation Smith v. Acme',
  releaseReason: 'PLANTED-release: settled out of court',
  note: 'PLANTED-note: customer called, very upset',
  erasureReason: 'PLANTED-erasure: request by Jane Doe',
  refusalMessage: 'PLANTED-refusal-message',
  actorId: 'usr_planted_actor_9f3',
};
const actor: Actor = { actorId: PLANTED.actorId, role: 'billing_admin' };
const SUB = 'sub_1';
const ACC = 'acc_1';
const ids = { subscriptionId: SUB, accountId: ACC };
const T = '2026-02-10T09:00:00.000Z';
const EXPIRES = '2026-02-28T00:00:00.000+01:00';
const PURGE = '2026-05-29T00:00:00.000+02:00';
const TERM = { start: '2026-01-31T00:00:00.000+01:00', end: EXPIRES };
const NEXT_TERM = { start: EXPIRES, end: '2026-03-31T00:00:00.000+02:00' };
const receipt = {
  purgeId: 'purge_1',
  holders: [
    {
      holder: 'local',
      itemsDeleted: 3,
      bytesDeleted: 120,
      contentHash: 'sha256:ab',
      location: 'local',
      externalReceiptId: null,
    },
  ],
  itemsDeleted: 3,
  keysShredded: ['key-subscription-sub_1'],
  readModelRowsScrubbed: 2,
  jobsRemoved: 1,
  verification: {
    verifiedAt: PURGE,
    holders: [
      {
        holder: 'local',
        remainingItems: 0,
        method: 'marker_scan' as const,
        externalReceiptId: null,
      },
    ],
  },
};

/** One event of every internal subscription type, personal fields planted where they exist. */
const SUBSCRIPTION_EVENTS: {
  [K in SubscriptionEventType]: Extract<SubscriptionEvent, { type: K }>;
} = {
  SubscriptionRegistered: registered(),
  CancellationRequested: {
    type: 'CancellationRequested',
    data: {
      ...ids,
      productId: 'goto-meeting',
      requestedBy: actor,
      channel: 'support',
      requestedAt: T,
      effectiveAt: EXPIRES,
      expiresAt: EXPIRES,
      purgeAt: PURGE,
      refund: 'none',
      policyVersion: 'cancellation-policy/1',
      renewalDate: EXPIRES,
      noticeDeadline: null,
      noticeDeadlineMissed: false,
      verifiedProducts: ['goto-meeting'],
      verification: {
        billingAdminEmail: PLANTED.email,
        paymentLast4: PLANTED.last4,
        billingAddress: PLANTED.address,
      },
      survey: { reason: 'switched_service', comment: PLANTED.comment },
    },
  },
  AutoRenewDisabled: {
    type: 'AutoRenewDisabled',
    data: { ...ids, disabledAt: T, reason: 'cancellation_requested' },
  },
  CancellationRefused: {
    type: 'CancellationRefused',
    data: {
      ...ids,
      code: 'OUTSTANDING_BALANCE',
      rule: 'R6',
      message: PLANTED.refusalMessage,
      requestedBy: actor,
      channel: 'self_service',
      refusedAt: T,
      policyVersion: 'cancellation-policy/1',
    },
  },
  CancellationWithdrawn: {
    type: 'CancellationWithdrawn',
    data: {
      ...ids,
      requestedBy: actor,
      channel: 'support',
      withdrawnAt: T,
      expiresAtDropped: EXPIRES,
      purgeAtDropped: PURGE,
    },
  },
  AutoRenewEnabled: {
    type: 'AutoRenewEnabled',
    data: { ...ids, enabledAt: T, reason: 'cancellation_withdrawn' },
  },
  SubscriptionRenewed: {
    type: 'SubscriptionRenewed',
    data: {
      ...ids,
      renewedAt: EXPIRES,
      previousTerm: TERM,
      termIndex: 1,
      currentTerm: NEXT_TERM,
      reason: 'auto_renew',
    },
  },
  SubscriptionExpired: {
    type: 'SubscriptionExpired',
    data: {
      ...ids,
      productId: 'goto-meeting',
      expiresAt: EXPIRES,
      expiredAt: EXPIRES,
      purgeAt: PURGE,
    },
  },
  RoomMeetingAccountRevoked: {
    type: 'RoomMeetingAccountRevoked',
    data: {
      ...ids,
      productId: 'goto-room',
      revokedAt: EXPIRES,
      revoked: ['instant_meeting', 'screen_sharing'],
      hardwareRetainedByCustomer: true,
    },
  },
  SubscriptionReactivated: {
    type: 'SubscriptionReactivated',
    data: {
      ...ids,
      requestedBy: actor,
      channel: 'support',
      reactivatedAt: T,
      anchor: T,
      termIndex: 0,
      currentTerm: NEXT_TERM,
      purgeAtDropped: PURGE,
    },
  },
  PurgeDeferred: {
    type: 'PurgeDeferred',
    data: { ...ids, deferredAt: PURGE, purgeAt: PURGE, reason: 'legal_hold' },
  },
  PurgeStarted: {
    type: 'PurgeStarted',
    data: { ...ids, purgeId: 'purge_1', startedAt: PURGE, purgeAt: PURGE, holders: ['local'] },
  },
  ProductDataHolderPurged: {
    type: 'ProductDataHolderPurged',
    data: { ...ids, purgeId: 'purge_1', purgedAt: PURGE, receipt: receipt.holders[0]! },
  },
  PurgeVerified: {
    type: 'PurgeVerified',
    data: {
      ...ids,
      purgeId: 'purge_1',
      verifiedAt: PURGE,
      holders: [
        { holder: 'local', remainingItems: 0, method: 'marker_scan', externalReceiptId: null },
      ],
    },
  },
  PurgeVerificationFailed: {
    type: 'PurgeVerificationFailed',
    data: {
      ...ids,
      purgeId: 'purge_1',
      checkedAt: PURGE,
      holders: [
        { holder: 'local', remainingItems: 2, method: 'marker_scan', externalReceiptId: null },
      ],
    },
  },
  ProductDataPurged: {
    type: 'ProductDataPurged',
    data: {
      ...ids,
      productId: 'goto-meeting',
      purgedAt: PURGE,
      expiresAt: EXPIRES,
      purgeAt: PURGE,
      receipt,
    },
  },
  TerminationScheduled: {
    type: 'TerminationScheduled',
    data: {
      ...ids,
      productId: 'goto-meeting',
      reason: 'payment_failed',
      effective: 'term_end',
      effectiveAt: EXPIRES,
      purgeAt: PURGE,
      requestedBy: actor,
      channel: 'system',
      requestedAt: T,
      note: PLANTED.note,
    },
  },
  TerminationRevoked: {
    type: 'TerminationRevoked',
    data: {
      ...ids,
      requestedBy: actor,
      channel: 'system',
      revokedAt: T,
      reason: 'payment_failed',
      effectiveAtDropped: EXPIRES,
    },
  },
  ReactivationRefused: {
    type: 'ReactivationRefused',
    data: {
      ...ids,
      code: 'INVALID_STATE',
      rule: 'D8',
      message: PLANTED.refusalMessage,
      requestedBy: actor,
      channel: 'support',
      refusedAt: T,
    },
  },
  BillingFactsUpdated: {
    type: 'BillingFactsUpdated',
    data: {
      ...ids,
      outstandingBalance: { amount: '12.50', currency: 'EUR' },
      assignedLicences: 3,
      previous: { outstandingBalance: null, assignedLicences: 0 },
      requestedBy: actor,
      channel: 'system',
      updatedAt: T,
    },
  },
  PurgeNoticeIssued: {
    type: 'PurgeNoticeIssued',
    data: {
      ...ids,
      productId: 'goto-meeting',
      purgeAt: PURGE,
      daysBefore: 7,
      noticeAt: '2026-05-22T00:00:00.000+02:00',
      issuedAt: '2026-05-22T00:00:00.000+02:00',
    },
  },
};

const ACCOUNT_EVENTS: { [K in AccountEventType]: Extract<AccountEvent, { type: K }> } = {
  LegalHoldPlaced: {
    type: 'LegalHoldPlaced',
    data: {
      accountId: ACC,
      holdId: 'hold_1',
      placedAt: T,
      requestedBy: actor,
      reason: PLANTED.holdReason,
    },
  },
  LegalHoldReleased: {
    type: 'LegalHoldReleased',
    data: {
      accountId: ACC,
      holdId: 'hold_1',
      releasedAt: T,
      requestedBy: actor,
      reason: PLANTED.releaseReason,
    },
  },
  PersonalDataErased: {
    type: 'PersonalDataErased',
    data: {
      accountId: ACC,
      erasedAt: T,
      requestedBy: actor,
      reason: PLANTED.erasureReason,
      receipt: {
        keysShredded: ['key-subscription-sub_1', 'key-account-acc_1'],
        readModelRowsScrubbed: 4,
      },
    },
  },
  ErasureRefused: {
    type: 'ErasureRefused',
    data: {
      accountId: ACC,
      code: 'LEGAL_HOLD',
      rule: 'D10',
      message: PLANTED.refusalMessage,
      holdId: 'hold_1',
      requestedBy: actor,
      reason: PLANTED.erasureReason,
      refusedAt: T,
    },
  },
};

let position = 100n;
/** The event as the log hands it to the projection (metadata with the planted actor). */
function recorded(event: { type: string; data: object }, streamId: string): RecordedEvent {
  position += 1n;
  return {
    eventId: `0193-${position}`,
    streamId,
    revision: Number(position),
    position,
    type: event.type,
    data: event.data as Record<string, unknown>,
    metadata: {
      correlationId: 'corr-1',
      causationId: null,
      commandId: 'billing/key-1',
      actor: { actorId: PLANTED.actorId, role: 'billing_admin' },
      channel: 'support',
      recordedAt: T,
      schemaVersion: 1,
    },
  };
}

const registeredState = (plan = registered()): SubscriptionState =>
  subscriptionDecider.evolve(subscriptionDecider.initialState(), plan);

/** What a subscription event publishes, folded on a registered subscription (as the projection does). */
function publish(event: SubscriptionEvent, before = registeredState()): IntegrationEvent | null {
  const e = recorded(event, `subscription-${SUB}`);
  return subscriptionIntegrationEvent(e, subscriptionDecider.evolve(before, event));
}

/** docs/integration-events.md: which internal event publishes which integration event. */
const PUBLISHES: Record<SubscriptionEventType | AccountEventType, string | null> = {
  SubscriptionRegistered: 'subscription.registered',
  CancellationRequested: 'subscription.cancellation_scheduled',
  AutoRenewDisabled: null,
  CancellationRefused: null,
  CancellationWithdrawn: 'subscription.cancellation_withdrawn',
  AutoRenewEnabled: null,
  SubscriptionRenewed: 'subscription.renewed',
  SubscriptionExpired: 'subscription.expired',
  RoomMeetingAccountRevoked: 'subscription.room_account_revoked',
  SubscriptionReactivated: 'subscription.reactivated',
  PurgeDeferred: 'subscription.purge_deferred',
  PurgeStarted: null,
  ProductDataHolderPurged: null,
  PurgeVerified: null,
  PurgeVerificationFailed: null,
  ProductDataPurged: 'subscription.purged',
  TerminationScheduled: 'subscription.termination_scheduled',
  TerminationRevoked: 'subscription.termination_revoked',
  ReactivationRefused: null,
  BillingFactsUpdated: null,
  PurgeNoticeIssued: 'subscription.purge_notice',
  LegalHoldPlaced: 'account.legal_hold_placed',
  LegalHoldReleased: 'account.legal_hold_released',
  PersonalDataErased: 'account.personal_data_erased',
  ErasureRefused: null,
};

function everyMapped(): { internal: string; event: IntegrationEvent | null }[] {
  return [
    ...SUBSCRIPTION_EVENT_TYPES.map((type) => ({
      internal: type,
      event: publish(SUBSCRIPTION_EVENTS[type]),
    })),
    ...ACCOUNT_EVENT_TYPES.map((type) => ({
      internal: type,
      event: accountIntegrationEvent(recorded(ACCOUNT_EVENTS[type], `account-${ACC}`), ACC),
    })),
  ];
}

describe('integration events: the public schema mapped from the internal events', () => {
  it('every internal type publishes the integration event documented for it (or none), and every public type is published by one', () => {
    const mapped = everyMapped();
    expect(Object.fromEntries(mapped.map((m) => [m.internal, m.event?.type ?? null]))).toEqual(
      PUBLISHES,
    );
    expect([...new Set(mapped.flatMap((m) => (m.event ? [m.event.type] : [])))].sort()).toEqual(
      [...INTEGRATION_EVENT_TYPES].sort(),
    );
  });

  it('the envelope: evt_<eventId>, the position as a decimal string, occurredAt the fact time, the ids of the stream; account events carry the account only', () => {
    const e = recorded(SUBSCRIPTION_EVENTS.CancellationRequested, `subscription-${SUB}`);
    const before = registeredState();
    const event = subscriptionIntegrationEvent(
      e,
      subscriptionDecider.evolve(before, SUBSCRIPTION_EVENTS.CancellationRequested),
    );
    expect(event).toEqual({
      id: `evt_${e.eventId}`,
      type: 'subscription.cancellation_scheduled',
      occurredAt: T,
      position: String(e.position),
      accountId: ACC,
      subscriptionId: SUB,
      productId: 'goto-meeting',
      data: {
        channel: 'support',
        requestedAt: T,
        expiresAt: EXPIRES,
        purgeAt: PURGE,
        renewalDate: EXPIRES,
        noticeDeadline: null,
        noticeDeadlineMissed: false,
        surveyReason: 'switched_service',
      },
    });
    const hold = accountIntegrationEvent(
      recorded(ACCOUNT_EVENTS.LegalHoldPlaced, `account-${ACC}`),
      ACC,
    );
    expect(hold).toEqual({
      id: expect.stringMatching(/^evt_0193-\d+$/),
      type: 'account.legal_hold_placed',
      occurredAt: T,
      position: expect.stringMatching(/^\d+$/),
      accountId: ACC,
      data: { holdId: 'hold_1' },
    });
  });

  it('ids are stable: the same recorded event maps to the same id and body, whoever maps it and how often', () => {
    const e = recorded(SUBSCRIPTION_EVENTS.SubscriptionExpired, `subscription-${SUB}`);
    const state = subscriptionDecider.evolve(
      registeredState(),
      SUBSCRIPTION_EVENTS.SubscriptionExpired,
    );
    const first = subscriptionIntegrationEvent(e, state);
    const again = subscriptionIntegrationEvent({ ...e, data: { ...e.data } }, state);
    expect(first?.id).toBe(`evt_${e.eventId}`);
    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
  });

  it('subscription.expired: cause term_end after a term end or cancellation, trial_end when a trial ends, terminated (with its reason) after a termination (D8)', () => {
    expect(publish(SUBSCRIPTION_EVENTS.SubscriptionExpired)?.data).toEqual({
      expiresAt: EXPIRES,
      cause: 'term_end',
      purgeAt: PURGE,
    });
    const trial = registeredState(registered({ plan: { kind: 'trial', trialDays: 14 } }));
    expect(publish(SUBSCRIPTION_EVENTS.SubscriptionExpired, trial)?.data).toMatchObject({
      cause: 'trial_end',
    });
    const terminated: SubscriptionEvent = {
      type: 'SubscriptionExpired',
      data: {
        ...SUBSCRIPTION_EVENTS.SubscriptionExpired.data,
        cause: 'terminated',
        terminationReason: 'fraud',
      },
    };
    expect(publish(terminated)?.data).toEqual({
      expiresAt: EXPIRES,
      cause: 'terminated',
      purgeAt: PURGE,
      terminationReason: 'fraud',
    });
    // A trial terminated early is a termination, not a trial end.
    expect(publish(terminated, trial)?.data).toMatchObject({ cause: 'terminated' });
  });

  it('D7 and R15: a purge notice carries purgeAt and daysBefore; a purge the id of its receipt (its event id, as GET /v1/audit/purges names it), the purge id and the totals', () => {
    expect(publish(SUBSCRIPTION_EVENTS.PurgeNoticeIssued)?.data).toEqual({
      purgeAt: PURGE,
      daysBefore: 7,
      noticeAt: '2026-05-22T00:00:00.000+02:00',
    });
    const purged = publish(SUBSCRIPTION_EVENTS.ProductDataPurged);
    expect(purged?.data).toEqual({
      receiptId: purged!.id.slice('evt_'.length),
      purgeId: 'purge_1',
      purgedAt: PURGE,
      expiresAt: EXPIRES,
      purgeAt: PURGE,
      holders: 1,
      itemsDeleted: 3,
      keysShredded: 1,
      verified: true,
    });
    // D11: a receipt from before holders were asked to verify says so.
    const { verification: _none, ...unverified } = receipt;
    const older = publish({
      ...SUBSCRIPTION_EVENTS.ProductDataPurged,
      data: { ...SUBSCRIPTION_EVENTS.ProductDataPurged.data, receipt: unverified },
    });
    expect(older?.data).toMatchObject({ verified: false });
  });

  it('R17: no planted personal value (survey comment, support verification, hold and release reasons, termination note, erasure reason, refusal message, actor ids) appears in any mapped event', () => {
    const json = JSON.stringify(everyMapped().map((m) => m.event));
    const leaked = [
      ...Object.values(PLANTED),
      verification.billingAdminEmail,
      billingAdmin.actorId,
      // Parts of the planted values, in case a field were cut or reformatted.
      'Grace',
      'Privet',
      'Smith v. Acme',
      'upset',
      'Jane Doe',
    ].filter((value) => json.includes(value));
    expect(leaked).toEqual([]);
    // No field of the envelope or data is named like a personal one either.
    expect(json).not.toMatch(
      /"(requestedBy|actor|actorId|comment|verification|note|survey|billingAdminEmail|paymentLast4|billingAddress)"/,
    );
  });

  it('an event before the registration, or of another stream kind, publishes nothing', () => {
    const e = recorded(SUBSCRIPTION_EVENTS.SubscriptionExpired, `subscription-${SUB}`);
    expect(subscriptionIntegrationEvent(e, subscriptionDecider.initialState())).toBeNull();
    expect(
      accountIntegrationEvent(recorded({ type: 'Unknown', data: {} }, `account-${ACC}`), ACC),
    ).toBeNull();
  });
});
