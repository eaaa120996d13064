import { z } from 'zod';
import {
  DOMAIN_ERROR_CODES,
  SURVEY_REASONS,
  type SurveyReason,
  TERMINATION_REASONS,
  type TerminationReason,
} from '@app/domain';
import type { StreamInspection } from '@app/ops';
import type {
  AuditEvent,
  ConfirmationView,
  IntegrationEventPage,
  IntegrationEventType,
  PurgeReceiptView,
  ReceiptKeyView,
  SignedEndOfLifeCertificate,
} from '@app/read-models';
import type {
  CreatedWebhookEndpoint,
  WebhookDeliveryView,
  WebhookEndpointView,
} from '@app/webhooks';
import type { CancelSubscriptionResult } from '../cancel-subscription/cancel-subscription.command';
import type { ErasePersonalDataResult } from '../erase-personal-data/erase-personal-data.command';
import type { GetSubscriptionController } from '../get-subscription/get-subscription.controller';
import type { LegalHoldResult } from '../legal-hold/legal-hold.command';
import { SUBSCRIPTION_STATUSES } from '../list-account-subscriptions/list-account-subscriptions.query';
import type { ClockMoved, ClockReading } from '../ops-clock/ops-clock.controller';
import type { OpsReplayController } from '../ops-replay/ops-replay.controller';
import type { OpenPurge } from '../open-purges/open-purges.controller';
import type { RegisterSubscriptionResult } from '../register-subscription/register-subscription.command';
import type { SubscriptionCommandResult } from '../subscription-reader';
import type { SubscriptionView } from '../subscription-view';
import type { TerminateSubscriptionResult } from '../terminate-subscription/terminate-subscription.command';
import { toOpenApiSchema } from '../docs/openapi-schemas';
import type { ListedSubscriptionView } from './subscription-list.view';
import type { Page } from './paging';

/**
 * Shapes of the API's answers, for the OpenAPI document (the code builds them typed; the checks
 * at the end of this file make the compiler hold each answer type to its schema). The shapes
 * several answers share are named (`.meta({ id })`): `components.schemas` entries of the document.
 */

const EXAMPLE_ID = 'sub_7f3a9c';
const EXAMPLE_ACCOUNT = 'acc_4711';

/** An instant as the API writes it: ISO 8601 with an offset or Z (RFC 3339 `date-time`). */
const instant = z.string().meta({ format: 'date-time', example: '2026-12-31T23:00:00.000Z' });
/** A global log position: a decimal string (it may outgrow a JSON number). */
const position = z
  .string()
  .regex(/^\d{1,20}$/)
  .meta({ example: '1042' });

const EXAMPLE_NOTICES = [
  { daysBefore: 30, noticeAt: '2026-04-29T00:00:00.000+02:00', issuedAt: null },
  { daysBefore: 7, noticeAt: '2026-05-22T00:00:00.000+02:00', issuedAt: null },
];

/** D7: the purge notices of a purge date, planned (issuedAt null) and issued. */
const purgeNotices = z.array(
  z.object({
    daysBefore: z.int().describe('Days before purgeAt (PURGE_NOTICE_DAYS)'),
    noticeAt: instant.describe('purgeAt − daysBefore days, local wall-clock time (D4)'),
    issuedAt: instant.nullable().describe('When PurgeNoticeIssued was written; null: planned'),
  }),
);

// Inline, not named: they are only used nullable (see toOpenApiSchema).
const actor = z.object({ actorId: z.string(), role: z.string() });
const money = z.object({ amount: z.string(), currency: z.string() });

const plan = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('monthly') }),
    z.object({ kind: z.literal('annual') }),
    z.object({ kind: z.literal('fixed_term'), termMonths: z.int().min(1) }),
    z.object({ kind: z.literal('trial'), trialDays: z.int().min(1) }),
  ])
  .meta({ id: 'Plan', example: { kind: 'monthly' } });

const subscriptionFields = {
  subscriptionId: z.string(),
  accountId: z.string(),
  productId: z.string(),
  plan,
  contract: z.boolean(),
  timeZone: z.string().meta({ example: 'Europe/Rome' }),
  status: z.enum(SUBSCRIPTION_STATUSES),
  autoRenew: z.boolean(),
  currentTerm: z.object({ start: instant, end: instant }),
  expiresAt: instant
    .nullable()
    .describe('When access ends: set once a cancellation or termination is due'),
  purgeAt: instant.nullable().describe('When the data is purged (expiresAt + 90 days, D4)'),
  purgedAt: instant.nullable(),
  legalHold: z.boolean().describe("The account's legal hold (D3) defers any purge"),
  revision: z.int().min(0).describe('Stream revision of the last event folded'),
  pendingUntil: instant
    .nullable()
    .describe('R16: a cancelled subscription is listed as active, pending until this instant'),
  termination: z
    .object({
      reason: z.enum(TERMINATION_REASONS as [TerminationReason, ...TerminationReason[]]),
      effectiveAt: instant,
      requestedAt: instant,
    })
    .nullable()
    .describe('D8: a termination pending, or the one that ended the subscription'),
  outstandingBalance: money
    .nullable()
    .describe("D9: billing's latest balance (null: none was ever given); R6 and R19 decide on it"),
  assignedLicences: z.int().nullable().describe("D9: billing's latest count of assigned licences"),
  purgeNotices: purgeNotices.describe(
    'D7: the purge notices planned for the purge ahead (issuedAt null) and those issued; [] when none',
  ),
};

const EXAMPLE_SUBSCRIPTION = {
  subscriptionId: EXAMPLE_ID,
  accountId: EXAMPLE_ACCOUNT,
  productId: 'goto-meeting',
  plan: { kind: 'monthly' },
  contract: false,
  timeZone: 'Europe/Rome',
  status: 'cancellation_pending',
  autoRenew: false,
  currentTerm: { start: '2026-01-31T00:00:00.000+01:00', end: '2026-02-28T00:00:00.000+01:00' },
  expiresAt: '2026-02-28T00:00:00.000+01:00',
  purgeAt: '2026-05-29T00:00:00.000+02:00',
  purgedAt: null,
  legalHold: false,
  revision: 2,
  pendingUntil: '2026-02-28T00:00:00.000+01:00',
  termination: null,
  outstandingBalance: null,
  assignedLicences: 0,
  purgeNotices: [],
};

/** The `Subscription` resource of docs/http-api.md. */
export const subscriptionSchema = z
  .object(subscriptionFields)
  .meta({ id: 'Subscription', example: EXAMPLE_SUBSCRIPTION });

/** A Subscription as listed for its account (R16): with its section. */
export const listedSubscriptionSchema = z
  .object({
    ...subscriptionFields,
    section: z
      .enum(['active', 'expired'])
      .describe('R16: expired and purged subscriptions are listed apart'),
  })
  .meta({ id: 'ListedSubscription', example: { ...EXAMPLE_SUBSCRIPTION, section: 'active' } });

/** What every command answer adds: the events it wrote and the position of the last one. */
const events = z
  .array(z.string())
  .describe('Types of the events the command wrote (empty: none, e.g. a repeat)');
const writtenPosition = position
  .nullable()
  .describe('Log position of the last event written: pass as ?minPosition= to read your write');

export const registrationSchema = z
  .object({ ...subscriptionFields, position: writtenPosition })
  .meta({
    description: 'The Subscription just registered, with the position of its registration',
    example: {
      ...EXAMPLE_SUBSCRIPTION,
      status: 'active',
      autoRenew: true,
      expiresAt: null,
      purgeAt: null,
      pendingUntil: null,
      revision: 0,
      position: '1042',
    },
  });

export const subscriptionAfterCommandSchema = z
  .object({ ...subscriptionFields, events, position: writtenPosition })
  .meta({
    description: 'The Subscription after the command, with what the command wrote',
    example: { ...EXAMPLE_SUBSCRIPTION, events: ['CancellationWithdrawn'], position: '1043' },
  });

export const cancellationSchema = z
  .object({
    subscription: subscriptionSchema,
    effectiveAt: instant.describe('When access ends (R2, R9)'),
    purgeAt: instant.describe('effectiveAt + 90 days: when the data is purged (D4)'),
    refund: z.enum(['none']),
    noticeDeadlineMissed: z
      .boolean()
      .describe('A contract notice deadline was missed: one more term (R9)'),
    noticeDeadline: instant.nullable(),
    purgeNotices: purgeNotices.describe('D7: the purge notices planned for that purgeAt'),
    events,
    position: writtenPosition,
  })
  .meta({
    example: {
      subscription: EXAMPLE_SUBSCRIPTION,
      effectiveAt: '2026-02-28T00:00:00.000+01:00',
      purgeAt: '2026-05-29T00:00:00.000+02:00',
      refund: 'none',
      noticeDeadlineMissed: false,
      noticeDeadline: null,
      purgeNotices: EXAMPLE_NOTICES,
      events: ['CancellationRequested', 'AutoRenewDisabled'],
      position: '1043',
    },
  });

export const terminationSchema = z
  .object({
    subscription: subscriptionSchema,
    effectiveAt: instant.describe('When the subscription expires (D8)'),
    purgeAt: instant.describe('effectiveAt + 90 days: when its data is purged (D4)'),
    purgeNotices: purgeNotices.describe('D7: the purge notices planned for that purgeAt'),
    events,
    position: writtenPosition,
  })
  .meta({
    example: {
      subscription: {
        ...EXAMPLE_SUBSCRIPTION,
        termination: {
          reason: 'payment_failed',
          effectiveAt: '2026-02-28T00:00:00.000+01:00',
          requestedAt: '2026-02-10T09:00:00.000Z',
        },
      },
      effectiveAt: '2026-02-28T00:00:00.000+01:00',
      purgeAt: '2026-05-29T00:00:00.000+02:00',
      purgeNotices: EXAMPLE_NOTICES,
      events: ['TerminationScheduled'],
      position: '1044',
    },
  });

export const legalHoldSchema = z
  .object({
    accountId: z.string(),
    legalHold: z.boolean().describe('Whether a hold is in force after the command'),
    holdId: z.string().nullable(),
    events,
    position: writtenPosition,
  })
  .meta({
    example: {
      accountId: EXAMPLE_ACCOUNT,
      legalHold: true,
      holdId: 'hold_01J9',
      events: ['LegalHoldPlaced'],
      position: '1045',
    },
  });

export const erasureSchema = z
  .object({
    accountId: z.string(),
    keysShredded: z.array(z.string()),
    readModelRowsScrubbed: z.int().min(0),
    events,
    position: writtenPosition,
  })
  .meta({
    example: {
      accountId: EXAMPLE_ACCOUNT,
      keysShredded: [`key-subscription-${EXAMPLE_ID}`],
      readModelRowsScrubbed: 7,
      events: ['PersonalDataErased'],
      position: '1046',
    },
  });

export const cancellationPreviewSchema = z
  .object({
    allowed: z.boolean(),
    refusals: z.array(
      z.object({
        code: z.enum(DOMAIN_ERROR_CODES),
        rule: z.string().describe('The rule that refuses (R4…R11, D8)'),
        message: z.string(),
      }),
    ),
    effectiveAt: instant.nullable(),
    purgeAt: instant.nullable(),
    refund: z.enum(['none']),
    noticeDeadline: instant.nullable(),
    noticeDeadlineMissed: z.boolean(),
    outstandingBalance: money.nullable(),
    assignedLicences: z.int().min(0),
    checklist: z
      .array(z.object({ code: z.string(), message: z.string() }))
      .describe('What to show before cancelling: ACCESS_ENDS, PURGE_DATE, NO_REFUND, …'),
  })
  .meta({
    description: 'R19: what a cancellation asked now, by this role, on this channel, would do',
    example: {
      allowed: false,
      refusals: [
        {
          code: 'OUTSTANDING_BALANCE',
          rule: 'R6',
          message: 'A balance of 12.50 EUR is owed.',
        },
      ],
      effectiveAt: '2026-02-28T00:00:00.000+01:00',
      purgeAt: '2026-05-29T00:00:00.000+02:00',
      refund: 'none',
      noticeDeadline: null,
      noticeDeadlineMissed: false,
      outstandingBalance: { amount: '12.50', currency: 'EUR' },
      assignedLicences: 3,
      checklist: [
        { code: 'CHANNEL_REFUSED', message: 'A balance of 12.50 EUR is owed.' },
        { code: 'ACCESS_ENDS', message: 'Access continues until 2026-02-28.' },
        { code: 'PURGE_DATE', message: 'The data is deleted for good on 2026-05-29.' },
        { code: 'NO_REFUND', message: 'No refund is made for the rest of the term.' },
      ],
    },
  });

/** A keyset page (docs/http-api.md "Pages"). */
const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .describe('Resume after the last item (null only on an empty page)'),
    hasMore: z.boolean().describe('More items existed when the page was read'),
  });

export const auditEventSchema = z
  .object({
    position,
    streamId: z.string(),
    revision: z.int().min(0),
    type: z.string().describe('Event type, e.g. CancellationRequested'),
    recordedAt: instant,
    subscriptionId: z.string().nullable(),
    accountId: z.string().nullable(),
    actor: actor.nullable(),
    channel: z.string().nullable(),
    data: z
      .record(z.string(), z.unknown())
      .describe('Personal fields decrypted while their key exists, "[erased]" after'),
    correlationId: z.string(),
    causationId: z.string().nullable(),
  })
  .meta({
    id: 'AuditEvent',
    example: {
      position: '1043',
      streamId: `subscription-${EXAMPLE_ID}`,
      revision: 1,
      type: 'CancellationRequested',
      recordedAt: '2026-02-10T09:00:00.000Z',
      subscriptionId: EXAMPLE_ID,
      accountId: EXAMPLE_ACCOUNT,
      actor: { actorId: 'usr_anna', role: 'billing_admin' },
      channel: 'self_service',
      data: { subscriptionId: EXAMPLE_ID, effectiveAt: '2026-02-28T00:00:00.000+01:00' },
      correlationId: '5b0c7c1e-2f55-4d0e-9d43-0e8f3c1f6a11',
      causationId: null,
    },
  });

const receiptSignatureSchema = z
  .object({
    alg: z.literal('Ed25519'),
    kid: z.string().describe('The signing key: GET /v1/audit/receipt-keys'),
    value: z
      .string()
      .describe(
        'base64 Ed25519 signature of the UTF-8 bytes of the RFC 8785 canonical JSON of the object without its signature field',
      ),
  })
  .meta({ id: 'ReceiptSignature' });

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const terminationReason = z.enum(
  TERMINATION_REASONS as [TerminationReason, ...TerminationReason[]],
);
const term = z.object({ start: instant, end: instant });
const EXAMPLE_EVENT_ID = 'evt_01939c8e-5b7a-7c1d-9a2e-3f4b5c6d7e8f';

/**
 * One integration event type of the public schema (docs/integration-events.md): the envelope
 * with `type` fixed and its own `data`. Subscription events carry `subscriptionId` and
 * `productId`; account events (`account.*`) only `accountId`.
 */
const integrationEvent = <T extends IntegrationEventType, D extends z.ZodRawShape>(
  type: T,
  description: string,
  data: D,
) =>
  z
    .object({
      id: z
        .string()
        .regex(/^evt_\S+$/)
        .describe(
          '`evt_<event id>`: stable, the same fact always has the same id (deduplicate on it)',
        ),
      type: z.literal(type),
      occurredAt: instant.describe("When the fact happened, by the service's clock"),
      position,
      accountId: z.string(),
      ...(type.startsWith('subscription.')
        ? { subscriptionId: z.string(), productId: z.string() }
        : {}),
      data: z.object(data),
    })
    .describe(description);

/** An expiry at midnight in Rome, as the service writes instants (UTC). */
const EXAMPLE_INTEGRATION_EVENT = {
  id: EXAMPLE_EVENT_ID,
  type: 'subscription.expired',
  occurredAt: '2026-02-27T23:00:00.000Z',
  position: '1051',
  accountId: EXAMPLE_ACCOUNT,
  subscriptionId: EXAMPLE_ID,
  productId: 'goto-meeting',
  data: {
    expiresAt: '2026-02-27T23:00:00.000Z',
    cause: 'term_end',
    purgeAt: '2026-05-28T22:00:00.000Z',
  },
};

/** The integration events, one variant per type (`type` discriminates). */
export const integrationEventSchema = z
  .discriminatedUnion('type', [
    integrationEvent('subscription.registered', 'A subscription was registered (bought).', {
      plan,
      contract: z.boolean(),
      timeZone: z.string(),
      currentTerm: term,
      autoRenew: z.boolean(),
    }),
    integrationEvent(
      'subscription.cancellation_scheduled',
      'The customer cancelled: access ends at `expiresAt`, the data is purged at `purgeAt`.',
      {
        channel: z.enum(['self_service', 'support']),
        requestedAt: instant,
        expiresAt: instant.describe('When access ends'),
        purgeAt: instant.describe('When the product data is purged (expiresAt + 90 days)'),
        renewalDate: instant.describe('The term end the cancellation was measured against (R9)'),
        noticeDeadline: instant.nullable().describe('The contract notice deadline; null: none'),
        noticeDeadlineMissed: z.boolean().describe('Missed: one more term before expiry (R9)'),
        surveyReason: z
          .enum(SURVEY_REASONS as [SurveyReason, ...SurveyReason[]])
          .nullable()
          .describe('The reason picked in the exit survey (never its free-text comment)'),
      },
    ),
    integrationEvent(
      'subscription.cancellation_withdrawn',
      'A pending cancellation was withdrawn (D1): the subscription goes on.',
      {
        channel: z.enum(['self_service', 'support', 'system', 'operator']),
        withdrawnAt: instant,
        expiresAtDropped: instant.describe('The expiry that no longer happens'),
      },
    ),
    integrationEvent('subscription.renewed', 'A new term began.', {
      termIndex: z.int().min(0),
      currentTerm: term,
      reason: z.enum(['auto_renew', 'notice_deadline_missed']),
    }),
    integrationEvent(
      'subscription.termination_scheduled',
      'A platform service ends the subscription at `effectiveAt` (D8).',
      {
        reason: terminationReason,
        effective: z.enum(['immediately', 'term_end', 'instant']),
        effectiveAt: instant,
        purgeAt: instant,
      },
    ),
    integrationEvent(
      'subscription.termination_revoked',
      'A termination was revoked before it took effect (D8).',
      { reason: terminationReason, effectiveAtDropped: instant },
    ),
    integrationEvent(
      'subscription.expired',
      'Access ended: revoke it now. `cause`: term_end (a cancellation or a term not renewed), trial_end, or terminated (D8, with `terminationReason`).',
      {
        expiresAt: instant,
        cause: z.enum(['term_end', 'trial_end', 'terminated']),
        purgeAt: instant.describe('When the product data will be purged'),
        terminationReason: terminationReason.optional().describe('Only with cause terminated'),
      },
    ),
    integrationEvent(
      'subscription.room_account_revoked',
      "A room's meeting account was revoked at expiry (R18); the hardware stays with the customer.",
      {
        revokedAt: instant,
        revoked: z.array(z.string()).describe('instant_meeting, screen_sharing'),
        hardwareRetainedByCustomer: z.boolean(),
      },
    ),
    integrationEvent(
      'subscription.reactivated',
      'An expired, not yet purged subscription was reactivated (D2): restore access, the purge is off.',
      {
        channel: z.enum(['self_service', 'support', 'system', 'operator']),
        reactivatedAt: instant,
        currentTerm: term,
        purgeAtDropped: instant.describe('The purge that no longer happens'),
      },
    ),
    integrationEvent(
      'subscription.purge_notice',
      'D7: remind the customer to back up their data before `purgeAt`.',
      {
        purgeAt: instant,
        daysBefore: z.int().min(1),
        noticeAt: instant.describe('The planned instant: purgeAt − daysBefore days, local time'),
      },
    ),
    integrationEvent(
      'subscription.purge_deferred',
      'The purge is due but the account is under a legal hold (D3): it runs after the release.',
      { purgeAt: instant, reason: z.enum(['legal_hold']) },
    ),
    integrationEvent(
      'subscription.purged',
      "The subscription's product data is gone for good (R15); delete what you hold of it.",
      {
        receiptId: z
          .string()
          .describe(
            "The receiptId of its purge receipt in GET /v1/audit/purges (the id of the event the receipt records; this event's id is evt_<receiptId>)",
          ),
        purgeId: z.string().describe("The purge run (the receipt's purgeId)"),
        purgedAt: instant,
        expiresAt: instant,
        purgeAt: instant,
        holders: z.int().min(0).describe('Data holders that confirmed the deletion'),
        itemsDeleted: z.int().min(0),
        keysShredded: z.int().min(0),
        verified: z
          .boolean()
          .optional()
          .describe(
            'Every data holder confirmed that nothing of the subscription remains (D11); false for purges completed before that step existed, absent on events published before it',
          ),
      },
    ),
    integrationEvent(
      'account.legal_hold_placed',
      'A legal hold covers every subscription of the account (D3): defer every deletion.',
      { holdId: z.string() },
    ),
    integrationEvent('account.legal_hold_released', 'The legal hold was released (D3).', {
      holdId: z.string(),
    }),
    integrationEvent(
      'account.personal_data_erased',
      "The account's personal data was erased (R17): erase what you hold of it.",
      { keysShredded: z.int().min(0) },
    ),
  ])
  .meta({
    id: 'IntegrationEvent',
    description:
      'An integration event (docs/integration-events.md): the public, versioned schema product services act on; no personal data.',
    example: EXAMPLE_INTEGRATION_EVENT,
  });

export const integrationEventPageSchema = z
  .object({
    items: z.array(integrationEventSchema).describe('Oldest first'),
    nextCursor: position.describe(
      'Send as `after` next: past the last item, or past every event the read models hold when the page is not full. Never null.',
    ),
  })
  .meta({
    example: {
      items: [EXAMPLE_INTEGRATION_EVENT],
      nextCursor: '1051',
    },
  });

export const purgeVerificationSchema = z.object({
  verifiedAt: instant,
  holders: z.array(
    z.object({
      holder: z.string(),
      remainingItems: z
        .literal(0)
        .describe('Only a holder that found nothing lets the purge complete'),
      method: z
        .enum(['marker_scan', 'http'])
        .describe(
          '`marker_scan`: the local holder looked for the marker it planted at registration and for the files; `http`: the holder answered a signed verify request',
        ),
      externalReceiptId: z.string().nullable(),
    }),
  ),
});

export const purgeReceiptSchema = z
  .object({
    receiptId: z.string().describe('Stable: the id of the ProductDataPurged event it records'),
    sequence: z
      .int()
      .min(1)
      .describe('Place in the chain of every receipt, in log order, from 1 (D11)'),
    previousHash: sha256Hex.describe(
      'hex SHA-256 of the canonical JSON of the receipt before (signature included); 64 zeros for sequence 1',
    ),
    position,
    purgeId: z.string(),
    subscriptionId: z.string(),
    accountId: z.string(),
    productId: z.string(),
    expiresAt: instant,
    purgeAt: instant,
    purgedAt: instant,
    receipt: z.object({
      purgeId: z.string(),
      holders: z.array(
        z.object({
          holder: z.string(),
          itemsDeleted: z.number(),
          bytesDeleted: z.number(),
          contentHash: z.string(),
          location: z.string(),
          externalReceiptId: z.string().nullable(),
        }),
      ),
      itemsDeleted: z.number(),
      keysShredded: z.array(z.string()),
      readModelRowsScrubbed: z.number(),
      jobsRemoved: z.number(),
      verification: purgeVerificationSchema
        .optional()
        .describe(
          'D11: what each holder answered when asked what remains; absent on receipts of purges from before that step',
        ),
    }),
    job: z.object({
      commandId: z.string().nullable(),
      correlationId: z.string(),
      causationId: z.string().nullable(),
      actor: actor.nullable(),
      channel: z.string().nullable(),
    }),
    verified: z
      .boolean()
      .describe(
        'Every data holder confirmed that nothing of the subscription remains (receipt.verification, D11); false only on receipts of purges completed before that step existed',
      ),
    signature: receiptSignatureSchema,
  })
  .meta({ id: 'PurgeReceipt' });

/** D11: the last line of the NDJSON chain export, signed like a receipt. */
export const receiptChainHeadSchema = z
  .object({
    type: z.literal('ReceiptChainHead'),
    count: z.int().min(0).describe('Receipts in the export (the last sequence)'),
    lastHash: sha256Hex.describe('Hash of the last receipt; 64 zeros when there is none'),
    position: z.string().describe("The read models' position the export includes"),
    signature: receiptSignatureSchema,
  })
  .meta({ id: 'ReceiptChainHead' });

export const receiptKeysSchema = z.object({
  keys: z.array(
    z
      .object({
        kid: z.string(),
        alg: z.literal('Ed25519'),
        publicKey: z.string().describe('SPKI PEM'),
        createdAt: instant.nullable().describe('Known for a key the service made; null otherwise'),
      })
      .meta({ id: 'ReceiptKey' }),
  ),
});

/** D11: one holder's answer to "what remains?" (a finding: remainingItems above 0). */
const holderAnswer = z.object({
  holder: z.string(),
  remainingItems: z.int().min(0),
  method: z.enum(['marker_scan', 'http']),
  externalReceiptId: z.string().nullable(),
});
const certificateActor = actor
  .nullable()
  .describe('An actor id and role (never a name or an email); null: the platform itself');

const EXAMPLE_PURGED_AT = '2026-05-28T22:00:01.000Z';
const EXAMPLE_CERTIFICATE = {
  type: 'EndOfLifeCertificate',
  version: 1,
  subscriptionId: EXAMPLE_ID,
  accountId: EXAMPLE_ACCOUNT,
  productId: 'goto-meeting',
  plan: { kind: 'monthly' },
  contract: false,
  timeZone: 'Europe/Rome',
  registeredAt: '2026-01-30T23:00:00.000Z',
  ending: {
    kind: 'cancellation',
    requestedBy: { actorId: 'agent_7', role: 'billing_admin' },
    channel: 'support',
    requestedAt: '2026-02-10T09:00:00.000Z',
    notice: {
      renewalDate: '2026-02-27T23:00:00.000Z',
      noticeDeadline: null,
      noticeDeadlineMissed: false,
    },
    termination: null,
    position: '1043',
  },
  expiry: {
    expiresAt: '2026-02-27T23:00:00.000Z',
    expiredAt: '2026-02-27T23:00:00.000Z',
    purgeAt: '2026-05-28T22:00:00.000Z',
    position: '1107',
  },
  purgeNotices: [
    { daysBefore: 30, noticeAt: '2026-04-28T22:00:00.000Z', issuedAt: '2026-04-28T22:00:00.000Z' },
    { daysBefore: 7, noticeAt: '2026-05-21T22:00:00.000Z', issuedAt: '2026-05-21T22:00:00.000Z' },
  ],
  deferral: null,
  purge: {
    purgeId: `purge-${EXAMPLE_ID}-1780005600000`,
    startedAt: '2026-05-28T22:00:00.000Z',
    purgedAt: EXAMPLE_PURGED_AT,
    position: '1316',
    holders: [
      {
        holder: 'local',
        itemsDeleted: 3,
        bytesDeleted: 1843,
        contentHash: '5e2b7c0d9a4f61e8b3c2d1f0a9e8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0',
        location: `local:product-data/${EXAMPLE_ID}`,
        externalReceiptId: null,
        purgedAt: '2026-05-28T22:00:00.000Z',
      },
    ],
    itemsDeleted: 3,
    keysShredded: [`key-subscription-${EXAMPLE_ID}`],
    readModelRowsScrubbed: 4,
    jobsRemoved: 1,
  },
  verification: {
    verified: true,
    verifiedAt: EXAMPLE_PURGED_AT,
    holders: [
      { holder: 'local', remainingItems: 0, method: 'marker_scan', externalReceiptId: null },
    ],
    failures: [],
  },
  receipt: {
    receiptId: '0195a0c4-8f2e-7b61-9c3d-2e4f6a8b0c1d',
    sequence: 42,
    hash: '9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a1c3e5b7d9f0a2c4e6b8d0f',
    previousHash: '1a3c5e7b9d0f2a4c6e8b0d2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c0e2b4d6f8a0c',
    position: '1316',
  },
  timeline: [
    {
      position: '1042',
      event: 'SubscriptionRegistered',
      at: '2026-01-30T23:00:00.000Z',
      by: null,
      channel: 'system',
      episode: 1,
    },
    {
      position: '1043',
      event: 'CancellationRequested',
      at: '2026-02-10T09:00:00.000Z',
      by: { actorId: 'agent_7', role: 'billing_admin' },
      channel: 'support',
      episode: 1,
    },
  ],
  upToPosition: '1316',
  signature: {
    alg: 'Ed25519',
    kid: '3b1f0c9e5a7d2f41',
    value:
      'qf0S2vM1c8pW7o6Xh3Zr9yB4dL5eT2uN1aK8gJ3fH6iV0wE7cR4xY9bQ2mP5sU8nD1tG6jA3kF0lZ7oI4hC1Bw==',
  },
};

/**
 * D11: the end-of-life certificate of a purged subscription (docs/end-of-life-certificate.md),
 * made from the log and the receipt's link in the chain; signed like the receipts.
 */
export const endOfLifeCertificateSchema = z
  .object({
    type: z.literal('EndOfLifeCertificate'),
    version: z.literal(1),
    subscriptionId: z.string(),
    accountId: z.string(),
    productId: z.string(),
    plan,
    contract: z.boolean(),
    timeZone: z.string().describe("The account's time zone (IANA): the dates' local days"),
    registeredAt: instant,
    ending: z
      .object({
        kind: z
          .enum(['cancellation', 'termination', 'term_end'])
          .describe(
            'cancellation: the customer (R1–R13); termination: a platform service (D8); term_end: the term ran out with auto-renew off from the registration (or a trial ended)',
          ),
        requestedBy: certificateActor,
        channel: z
          .string()
          .nullable()
          .describe('self_service, support (a cancellation) or system (a termination)'),
        requestedAt: instant.nullable(),
        notice: z
          .object({
            renewalDate: instant,
            noticeDeadline: instant.nullable(),
            noticeDeadlineMissed: z.boolean(),
          })
          .nullable()
          .describe("R9: the cancellation's notice decision; null for a termination or a term end"),
        termination: z
          .object({
            reason: terminationReason,
            effective: z.enum(['immediately', 'term_end', 'instant']),
            effectiveAt: instant,
          })
          .nullable()
          .describe('D8: the termination that ended it; null otherwise'),
        position: position
          .nullable()
          .describe('Log position of the event that decided the end (null: a term end)'),
      })
      .describe(
        'Who ended the subscription, when, through which channel: the final end, after any reactivation (D2)',
      ),
    expiry: z.object({ expiresAt: instant, expiredAt: instant, purgeAt: instant, position }),
    purgeNotices: z
      .array(z.object({ daysBefore: z.int(), noticeAt: instant, issuedAt: instant }))
      .describe('D7: the purge notices issued before the purge'),
    deferral: z
      .object({
        deferredAt: instant,
        purgeAt: instant.describe('When the purge fell due'),
        reason: z.literal('legal_hold'),
        holds: z.array(
          z.object({
            holdId: z.string(),
            placedAt: instant,
            placedBy: certificateActor,
            releasedAt: instant.nullable(),
            releasedBy: certificateActor,
          }),
        ),
      })
      .nullable()
      .describe(
        "D3: the purge fell due under the account's legal holds (PurgeDeferred), and the holds that deferred it (never their reasons); null: not deferred",
      ),
    purge: z.object({
      purgeId: z.string(),
      startedAt: instant,
      purgedAt: instant,
      position,
      holders: z
        .array(
          z.object({
            holder: z.string(),
            itemsDeleted: z.number(),
            bytesDeleted: z.number(),
            contentHash: z.string(),
            location: z.string(),
            externalReceiptId: z.string().nullable(),
            purgedAt: instant.nullable(),
          }),
        )
        .describe("Each data holder's purge receipt"),
      itemsDeleted: z.number(),
      keysShredded: z.array(z.string()).describe('The personal-data keys destroyed (R17)'),
      readModelRowsScrubbed: z.number(),
      jobsRemoved: z.number(),
    }),
    verification: z.object({
      verified: z
        .boolean()
        .describe(
          'Every holder confirmed that nothing remains (D11); false only for purges completed before that step existed',
        ),
      verifiedAt: instant.nullable(),
      holders: z.array(holderAnswer),
      failures: z
        .array(z.object({ checkedAt: instant, position, holders: z.array(holderAnswer) }))
        .describe('Findings before the final verification (PurgeVerificationFailed), in order'),
    }),
    receipt: z
      .object({
        receiptId: z.string(),
        sequence: z.int().min(1),
        hash: sha256Hex.describe("The receipt's hash (docs/receipts.md)"),
        previousHash: sha256Hex,
        position,
      })
      .describe('The purge receipt in the signed chain of GET /v1/audit/purges'),
    timeline: z
      .array(
        z.object({
          position,
          event: z.string().describe('The event type, e.g. CancellationRequested'),
          at: instant.describe("The fact's own instant"),
          by: certificateActor,
          channel: z.string().nullable(),
          episode: z
            .int()
            .min(1)
            .describe('1 from the registration; each reactivation (D2) starts the next'),
        }),
      )
      .describe('The lifecycle facts in log order (no billing facts, no routine renewals)'),
    upToPosition: position.describe(
      "The log position the certificate covers up to: its purge's completion",
    ),
    signature: receiptSignatureSchema,
  })
  .meta({ id: 'EndOfLifeCertificate', example: EXAMPLE_CERTIFICATE });

export const confirmationSchema = z
  .object({
    eventId: z.string(),
    accountId: z.string(),
    subscriptionId: z.string(),
    productId: z.string(),
    subject: z.string(),
    body: z.string(),
    recordedAt: instant,
    position,
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.int().min(0),
    deliveredAt: instant.nullable(),
    nextAttemptAt: instant.nullable(),
  })
  .meta({ id: 'Confirmation' });

export const streamInspectionSchema = z.object({
  streamId: z.string(),
  kind: z.enum(['subscription', 'account', 'other']),
  events: z.array(
    z.object({
      position,
      revision: z.int().min(0),
      eventId: z.string(),
      type: z.string(),
      recordedAt: instant,
      actor: actor.nullable(),
      channel: z.string().nullable(),
      correlationId: z.string(),
      causationId: z.string().nullable(),
      commandId: z.string().nullable(),
      data: z.record(z.string(), z.unknown()),
      state: z.unknown().describe('The state folded after this event'),
    }),
  ),
  laterEvents: z.int().min(0).describe('Events recorded after asOf (not folded)'),
  asOf: instant.nullable(),
  state: z.unknown().describe('The state after the last listed event'),
});

const replayReport = z
  .object({
    projections: z.array(z.string()),
    generation: z
      .string()
      .describe('The generation of the read models built (after a switch-over, the one in use)'),
    replaced: z
      .string()
      .nullable()
      .describe(
        'The generation it replaced and dropped (null: the read database’s own tables, or none)',
      ),
    replacedDropped: z
      .boolean()
      .describe('Whether the replaced generation was dropped (if not, the next replay removes it)'),
    dialect: z.enum(['sqlite', 'postgres']),
    dryRun: z.boolean(),
    events: z.int().min(0),
    position: position.nullable(),
    livePosition: position.nullable(),
    buildMs: z.number(),
    swapMs: z.number().describe('The switch-over: top-up, pointer moved, old generation dropped'),
    lockMs: z
      .number()
      .describe('Of swapMs, how long writers of the read models waited on the pointer’s lock'),
    eventsPerSecond: z.number(),
    swapped: z.boolean(),
    tables: z
      .record(
        z.string(),
        z.object({
          live: z.object({ rows: z.int(), sha256: z.string() }),
          rebuilt: z.object({ rows: z.int(), sha256: z.string() }),
          equal: z.boolean(),
        }),
      )
      .optional(),
    identical: z.boolean().nullable(),
  })
  .describe('The outcome of a finished replay');

export const replayJobSchema = z.object({
  id: z.string(),
  status: z.enum(['running', 'succeeded', 'failed']),
  projection: z.string(),
  dryRun: z.boolean(),
  startedAt: instant,
  finishedAt: instant.nullable(),
  progress: z.object({ events: z.int(), done: z.int(), total: z.int() }),
  report: replayReport.nullable(),
  error: z.string().nullable(),
  owner: z
    .string()
    .describe('The api process that started it (the replay runs in a child of it): hostname/pid'),
  heartbeatAt: instant,
  href: z.string().describe('Where to follow it: GET this path'),
});

export const replayStartSchema = replayJobSchema
  .extend({
    alreadyRunning: z.boolean().describe('A replay was running already: this is its handle'),
  })
  .meta({
    example: {
      id: 'replay-0b8e2d1c-4a57-4b8f-a0ad-1a4f4d1f8d3e',
      status: 'running',
      projection: 'all',
      dryRun: false,
      startedAt: '2026-02-10T09:00:00.000Z',
      finishedAt: null,
      progress: { events: 0, done: 0, total: 0 },
      report: null,
      error: null,
      owner: 'api-0/4242',
      heartbeatAt: '2026-02-10T09:00:00.000Z',
      href: '/v1/ops/replay/replay-0b8e2d1c-4a57-4b8f-a0ad-1a4f4d1f8d3e',
      alreadyRunning: false,
    },
  });

export const openPurgesSchema = z.object({
  items: z.array(
    z.object({
      subscriptionId: z.string(),
      accountId: z.string().nullable(),
      purgeId: z.string().nullable(),
      startedAt: instant,
      holdersDone: z.array(z.string()).describe('Data holders that confirmed so far'),
      holders: z.array(z.string()),
      remaining: z
        .array(z.object({ holder: z.string(), remainingItems: z.int().min(1), checkedAt: instant }))
        .describe(
          'D11: what the last verification found left behind, per holder; the purge stays open until every holder finds nothing',
        ),
    }),
  ),
});

export const clockReadingSchema = z
  .object({ now: instant })
  .meta({ example: { now: '2026-02-10T09:00:00.000Z' } });

export const clockMovedSchema = z
  .object({
    now: instant,
    previous: instant,
    steps: z.int().min(0).describe('Due instants the clock stopped at on the way'),
    jobsReleased: z.int().min(0).describe('Delayed jobs the move released'),
  })
  .meta({
    example: {
      now: '2026-03-01T00:00:00.000Z',
      previous: '2026-02-10T09:00:00.000Z',
      steps: 1,
      jobsReleased: 1,
    },
  });

const EXAMPLE_ENDPOINT = {
  id: 'we_5f1c0a9e2b7d4c3a8e6f1b2d',
  url: 'https://meetings.example.com/hooks/end-of-life',
  types: ['subscription.expired', 'subscription.purged'],
  description: 'Meeting rooms: revoke access, delete recordings',
  status: 'enabled' as const,
  createdAt: '2026-02-10T09:00:00.000Z',
  startPosition: '1042',
};

export const webhookEndpointSchema = z
  .object({
    id: z.string().describe('`we_…`'),
    url: z.string(),
    types: z.array(z.string()).describe('Integration-event types it receives, or `["*"]`'),
    description: z.string().nullable(),
    status: z.enum(['enabled']),
    createdAt: instant,
    startPosition: position.describe(
      "The log's head at creation: the endpoint receives the events recorded after it",
    ),
  })
  .meta({ id: 'WebhookEndpoint', example: EXAMPLE_ENDPOINT });

export const createdWebhookEndpointSchema = webhookEndpointSchema
  .extend({
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+=*$/)
      .describe(
        'The signing secret, `whsec_<base64>`: shown only in this answer. The HMAC key is the base64-decoded part after `whsec_`',
      ),
  })
  .meta({
    example: { ...EXAMPLE_ENDPOINT, secret: 'whsec_Xbtq0QnUFSZGxm4MqeKXqJ09+/baFqd/HERRjLt8Iqg=' },
  });

export const webhookDeliverySchema = z
  .object({
    id: z.string().describe('`dlv_…`'),
    endpointId: z.string(),
    eventId: z.string().describe('The integration event (`evt_…`), sent as `webhook-id`'),
    type: z.string(),
    position,
    status: z
      .enum(['pending', 'delivered', 'failed'])
      .describe('failed: no 2xx within the retry window (WEBHOOK_RETRY_WINDOW_MS)'),
    attempts: z.int().min(0),
    lastStatusCode: z.int().nullable().describe("The last attempt's HTTP status (null: none)"),
    lastError: z
      .string()
      .nullable()
      .describe('Why the last attempt failed (status, timeout, network error); never a body'),
    nextAttemptAt: instant.nullable(),
    deliveredAt: instant.nullable(),
    createdAt: instant,
  })
  .meta({
    id: 'WebhookDelivery',
    example: {
      id: 'dlv_0c4b7e1f9a2d5c8e3b6a1f4d',
      endpointId: EXAMPLE_ENDPOINT.id,
      eventId: 'evt_0194f1c2-7a3b-7c4d-8e5f-6a7b8c9d0e1f',
      type: 'subscription.expired',
      position: '1043',
      status: 'pending',
      attempts: 2,
      lastStatusCode: 503,
      lastError: 'HTTP 503',
      nextAttemptAt: '2026-02-10T09:00:20.000Z',
      deliveredAt: null,
      createdAt: '2026-02-10T09:00:00.000Z',
    },
  });

export const livenessSchema = z
  .object({ status: z.enum(['ok']) })
  .meta({ example: { status: 'ok' } });

export const readinessSchema = z
  .object({
    status: z.enum(['ok']),
    checks: z
      .record(z.string(), z.string())
      .describe('Each check (eventStore, redis, readStore) and its state: up'),
  })
  .meta({
    example: { status: 'ok', checks: { eventStore: 'up', readStore: 'up' } },
  });

/**
 * An answer's schema as the document holds it: written out in its operation (Swagger UI shows
 * it there), its named parts (`Subscription`, `AuditEvent`, …) as `$ref`s to components.
 */
const answer = (schema: z.ZodType) => toOpenApiSchema(schema, { root: 'inline' });

/** The answers' schemas, by answer. */
export const RESPONSES = {
  registration: answer(registrationSchema),
  subscription: answer(subscriptionSchema),
  subscriptionAfterCommand: answer(subscriptionAfterCommandSchema),
  cancellation: answer(cancellationSchema),
  termination: answer(terminationSchema),
  cancellationPreview: answer(cancellationPreviewSchema),
  legalHold: answer(legalHoldSchema),
  erasure: answer(erasureSchema),
  subscriptionList: answer(z.object({ items: z.array(listedSubscriptionSchema) })),
  auditPage: answer(page(auditEventSchema)),
  /** One line of the NDJSON export: the named AuditEvent itself. */
  auditEvent: toOpenApiSchema(auditEventSchema),
  purgePage: answer(page(purgeReceiptSchema)),
  integrationEventPage: answer(integrationEventPageSchema),
  /** One line of the receipts' NDJSON export: a PurgeReceipt, or the head line at the end. */
  purgeChainLine: answer(z.union([purgeReceiptSchema, receiptChainHeadSchema])),
  receiptKeys: answer(receiptKeysSchema),
  endOfLifeCertificate: answer(endOfLifeCertificateSchema),
  confirmationPage: answer(page(confirmationSchema)),
  streamInspection: answer(streamInspectionSchema),
  replayStarted: answer(replayStartSchema),
  replayJob: answer(replayJobSchema),
  openPurges: answer(openPurgesSchema),
  clockReading: answer(clockReadingSchema),
  clockMoved: answer(clockMovedSchema),
  liveness: answer(livenessSchema),
  readiness: answer(readinessSchema),
  webhookEndpoint: answer(webhookEndpointSchema),
  webhookEndpointCreated: answer(createdWebhookEndpointSchema),
  webhookEndpointList: answer(z.object({ items: z.array(webhookEndpointSchema) })),
  webhookDelivery: answer(webhookDeliverySchema),
  webhookDeliveryPage: answer(page(webhookDeliverySchema)),
};

/**
 * Compile-time: each route's answer type fits the schema the document declares for it (a
 * `false` here is a type error naming the route: change the schema with the answer).
 */
type Fits<Answer, Schema extends z.ZodType> = [Answer] extends [z.input<Schema>] ? true : false;
type Answer<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>;
/** The receipt is `unknown` in the read model's type (the event's own shape): checked apart. */
type FitsBesidesReceipt = [Omit<PurgeReceiptView, 'receipt'>] extends [
  Omit<z.input<typeof purgeReceiptSchema>, 'receipt'>,
]
  ? true
  : false;
export const ANSWERS_FIT_THEIR_SCHEMAS: {
  registration: Fits<RegisterSubscriptionResult, typeof registrationSchema>;
  subscription: Fits<SubscriptionView, typeof subscriptionSchema>;
  listed: Fits<ListedSubscriptionView, typeof listedSubscriptionSchema>;
  afterCommand: Fits<SubscriptionCommandResult, typeof subscriptionAfterCommandSchema>;
  cancellation: Fits<CancelSubscriptionResult, typeof cancellationSchema>;
  termination: Fits<TerminateSubscriptionResult, typeof terminationSchema>;
  preview: Fits<Answer<GetSubscriptionController['preview']>, typeof cancellationPreviewSchema>;
  legalHold: Fits<LegalHoldResult, typeof legalHoldSchema>;
  erasure: Fits<ErasePersonalDataResult, typeof erasureSchema>;
  auditEvent: Fits<AuditEvent, typeof auditEventSchema>;
  auditPage: Fits<Page<AuditEvent>, ReturnType<typeof page<typeof auditEventSchema>>>;
  purgeReceipt: FitsBesidesReceipt;
  receiptKeys: Fits<{ keys: ReceiptKeyView[] }, typeof receiptKeysSchema>;
  endOfLifeCertificate: Fits<SignedEndOfLifeCertificate, typeof endOfLifeCertificateSchema>;
  confirmation: Fits<ConfirmationView, typeof confirmationSchema>;
  stream: Fits<StreamInspection, typeof streamInspectionSchema>;
  replayStarted: Fits<Answer<OpsReplayController['start']>, typeof replayStartSchema>;
  replayJob: Fits<Answer<OpsReplayController['get']>, typeof replayJobSchema>;
  openPurges: Fits<{ items: OpenPurge[] }, typeof openPurgesSchema>;
  clockReading: Fits<ClockReading, typeof clockReadingSchema>;
  clockMoved: Fits<ClockMoved, typeof clockMovedSchema>;
  /** Its items are held to the schema by the unit spec and by every e2e answer (app-harness). */
  integrationEventCursor: Fits<IntegrationEventPage['nextCursor'], typeof position>;
  webhookEndpoint: Fits<WebhookEndpointView, typeof webhookEndpointSchema>;
  webhookEndpointCreated: Fits<CreatedWebhookEndpoint, typeof createdWebhookEndpointSchema>;
  webhookDelivery: Fits<WebhookDeliveryView, typeof webhookDeliverySchema>;
} = {
  registration: true,
  subscription: true,
  listed: true,
  afterCommand: true,
  cancellation: true,
  termination: true,
  preview: true,
  legalHold: true,
  erasure: true,
  auditEvent: true,
  auditPage: true,
  purgeReceipt: true,
  receiptKeys: true,
  endOfLifeCertificate: true,
  confirmation: true,
  stream: true,
  replayStarted: true,
  replayJob: true,
  openPurges: true,
  clockReading: true,
  clockMoved: true,
  integrationEventCursor: true,
  webhookEndpoint: true,
  webhookEndpointCreated: true,
  webhookDelivery: true,
};
