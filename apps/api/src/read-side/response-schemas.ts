import { z } from 'zod';
import { TERMINATION_REASONS, type TerminationReason } from '@app/domain';
import { toOpenApiSchema } from '../docs/openapi-document';

/** Shapes of the read-side answers, for the OpenAPI document (the code builds them typed). */
const instant = z.string().describe('ISO 8601 instant, UTC');
const actor = z.object({ actorId: z.string(), role: z.string() }).nullable();
const money = z.object({
  amount: z.string().describe('decimal string, e.g. "12.50"'),
  currency: z.string(),
});

const purgeNotices = z.array(
  z.object({
    daysBefore: z.number().int().describe('Days before purgeAt (PURGE_NOTICE_DAYS)'),
    noticeAt: instant.describe('purgeAt − daysBefore days, local wall-clock time (D4)'),
    issuedAt: instant.nullable().describe('When PurgeNoticeIssued was written; null: planned'),
  }),
);

export const subscriptionSchema = z.object({
  subscriptionId: z.string(),
  accountId: z.string(),
  productId: z.string(),
  plan: z.object({
    kind: z.enum(['monthly', 'annual', 'fixed_term', 'trial']),
    termMonths: z.number().optional(),
    trialDays: z.number().optional(),
  }),
  contract: z.boolean(),
  timeZone: z.string(),
  status: z.enum(['trial', 'active', 'cancellation_pending', 'expired', 'purged']),
  autoRenew: z.boolean(),
  currentTerm: z.object({ start: instant, end: instant }),
  expiresAt: instant.nullable(),
  purgeAt: instant.nullable(),
  purgedAt: instant.nullable(),
  legalHold: z.boolean(),
  revision: z.number().int(),
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
  assignedLicences: z
    .number()
    .int()
    .nullable()
    .describe("D9: billing's latest count of assigned licences"),
  purgeNotices: purgeNotices.describe(
    'D7: the purge notices planned for the purge ahead (issuedAt null) and those issued; [] when none',
  ),
  section: z
    .enum(['active', 'expired'])
    .describe('R16: expired and purged subscriptions are listed apart'),
});

const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .describe('Resume after the last item (null only on an empty page)'),
    hasMore: z.boolean().describe('More items existed when the page was read'),
  });

export const auditEventSchema = z.object({
  position: z.string().describe('Global log position (decimal string)'),
  streamId: z.string(),
  revision: z.number().int(),
  type: z.string(),
  recordedAt: instant,
  subscriptionId: z.string().nullable(),
  accountId: z.string().nullable(),
  actor,
  channel: z.string().nullable(),
  data: z
    .record(z.string(), z.unknown())
    .describe('Personal fields decrypted while their key exists, "[erased]" after'),
  correlationId: z.string(),
  causationId: z.string().nullable(),
});

export const purgeReceiptSchema = z.object({
  position: z.string(),
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
  }),
  job: z.object({
    commandId: z.string().nullable(),
    correlationId: z.string(),
    causationId: z.string().nullable(),
    actor,
    channel: z.string().nullable(),
  }),
});

export const confirmationSchema = z.object({
  eventId: z.string(),
  accountId: z.string(),
  subscriptionId: z.string(),
  productId: z.string(),
  subject: z.string(),
  body: z.string(),
  recordedAt: instant,
  position: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  deliveredAt: instant.nullable(),
  nextAttemptAt: instant.nullable(),
});

/** A Subscription as a command answers it (no R16 section). */
const subscriptionView = subscriptionSchema.omit({ section: true });
/** What a command wrote, and where (its `position` is the log position for ?minPosition=). */
const written = {
  events: z.array(z.string()).describe('Types of the events written (empty: nothing changed)'),
  position: z
    .string()
    .nullable()
    .describe('Log position of the last event written (?minPosition= reads your write)'),
};
/** A command's answer on a subscription (D1, D2, D8, D9): the Subscription, what it wrote, where. */
export const subscriptionCommandSchema = subscriptionView.extend(written);

export const RESPONSES = {
  termination: toOpenApiSchema(
    z.object({
      subscription: subscriptionView,
      effectiveAt: instant.describe('When the subscription expires (D8)'),
      purgeAt: instant.describe('effectiveAt + 90 days: when its data is purged (D4)'),
      purgeNotices: purgeNotices.describe('D7: the purge notices planned for that purgeAt'),
      ...written,
    }),
  ),
  subscriptionList: toOpenApiSchema(z.object({ items: z.array(subscriptionSchema) })),
  auditPage: toOpenApiSchema(page(auditEventSchema)),
  auditEvent: toOpenApiSchema(auditEventSchema),
  purgePage: toOpenApiSchema(page(purgeReceiptSchema)),
  confirmationPage: toOpenApiSchema(page(confirmationSchema)),
  subscriptionCommand: toOpenApiSchema(subscriptionCommandSchema),
};
