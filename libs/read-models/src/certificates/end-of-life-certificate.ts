import type {
  AccountEvent,
  Actor,
  HolderReceipt,
  HolderVerification,
  Instant,
  Plan,
  SubscriptionEvent,
  TerminationEffective,
  TerminationReason,
} from '@app/domain';
import type { EventMetadata, RecordedEvent } from '@app/event-store';
import type { ReceiptSignature, ReceiptSigner } from '../receipts/receipt-signature';

/**
 * D11: the end-of-life certificate of one purged subscription (docs/end-of-life-certificate.md):
 * its whole end of life in one document signed like the purge receipts. Built here from the log
 * alone (the subscription's stream, its account's stream for the legal holds) and the purge
 * receipt's link in the chain, without I/O, so that the same log gives the same bytes.
 *
 * Personal data never enters it: the builder copies named, non-personal fields one by one (ids,
 * roles, channels, instants, counts, hashes, closed lists), never an event's `data` whole, so the
 * personal fields (PERSONAL_DATA_FIELDS: the support verification, the survey comment, the
 * termination note, the hold reasons) cannot leak in even while their keys still exist.
 *
 * It covers the log up to the subscription's ProductDataPurged event (`upToPosition`): account
 * events after it (a later hold, an erasure) are not part of this subscription's end, so the
 * certificate never changes once the purge is complete.
 */

export const CERTIFICATE_TYPE = 'EndOfLifeCertificate' as const;
export const CERTIFICATE_VERSION = 1 as const;

/** An event as the store gives it: what the builder reads of it. */
export type CertificateSourceEvent = Pick<
  RecordedEvent,
  'eventId' | 'position' | 'type' | 'data'
> & {
  metadata: Pick<EventMetadata, 'recordedAt' | 'actor' | 'channel'>;
};

/** Where the subscription's purge receipt sits in the signed chain (rm_purge_receipts). */
export interface CertificateReceiptLink {
  /** The id of the ProductDataPurged event: the receipt's `receiptId`. */
  receiptId: string;
  sequence: number;
  /** hex SHA-256 of the canonical JSON of the whole signed receipt (docs/receipts.md). */
  hash: string;
  previousHash: string;
}

export type CertificateActor = { actorId: string; role: string } | null;

export type EndKind = 'cancellation' | 'termination' | 'term_end';

/** The lifecycle facts a certificate lists in its timeline (never billing facts or auto renewals). */
export const TIMELINE_EVENTS = [
  'SubscriptionRegistered',
  'CancellationRequested',
  'CancellationRefused',
  'CancellationWithdrawn',
  'TerminationScheduled',
  'TerminationRevoked',
  'SubscriptionRenewed',
  'SubscriptionExpired',
  'RoomMeetingAccountRevoked',
  'SubscriptionReactivated',
  'ReactivationRefused',
  'PurgeNoticeIssued',
  'PurgeDeferred',
  'LegalHoldPlaced',
  'LegalHoldReleased',
  'PurgeStarted',
  'ProductDataHolderPurged',
  'PurgeVerificationFailed',
  'PurgeVerified',
  'ProductDataPurged',
] as const;
export type TimelineEvent = (typeof TIMELINE_EVENTS)[number];

export interface TimelineEntry {
  position: string;
  event: TimelineEvent;
  /** The fact's own instant (requestedAt, expiredAt, purgedAt…). */
  at: Instant;
  by: CertificateActor;
  channel: string | null;
  /**
   * 1 from the registration; each reactivation (D2) starts the next. The last one is the end the
   * certificate tells; earlier ones ended in an expiry that was undone.
   */
  episode: number;
}

export interface CertificateHold {
  holdId: string;
  placedAt: Instant;
  placedBy: CertificateActor;
  /** null: not released before the purge completed. */
  releasedAt: Instant | null;
  releasedBy: CertificateActor;
}

export interface EndOfLifeCertificate {
  type: typeof CERTIFICATE_TYPE;
  version: typeof CERTIFICATE_VERSION;
  subscriptionId: string;
  accountId: string;
  productId: string;
  plan: Plan;
  contract: boolean;
  timeZone: string;
  registeredAt: Instant;
  /** Who ended it, when, through which channel: the cancellation or termination that ended it. */
  ending: {
    kind: EndKind;
    requestedBy: CertificateActor;
    channel: string | null;
    requestedAt: Instant | null;
    /** R9: the cancellation's notice decision; null for a termination or a term end. */
    notice: {
      renewalDate: Instant;
      noticeDeadline: Instant | null;
      noticeDeadlineMissed: boolean;
    } | null;
    /** D8: the termination; null for a cancellation or a term end. */
    termination: {
      reason: TerminationReason;
      effective: TerminationEffective;
      effectiveAt: Instant;
    } | null;
    /** The log position of the event that decided the end (null: a term end). */
    position: string | null;
  };
  expiry: { expiresAt: Instant; expiredAt: Instant; purgeAt: Instant; position: string };
  /** D7: the purge notices issued before the purge. */
  purgeNotices: { daysBefore: number; noticeAt: Instant; issuedAt: Instant }[];
  /** D3: the purge fell due under a legal hold; the holds that deferred it. null: not deferred. */
  deferral: {
    deferredAt: Instant;
    purgeAt: Instant;
    reason: 'legal_hold';
    holds: CertificateHold[];
  } | null;
  purge: {
    purgeId: string;
    startedAt: Instant;
    purgedAt: Instant;
    position: string;
    /** One receipt per data holder: what it deleted, where, and when. */
    holders: (HolderReceipt & { purgedAt: Instant | null })[];
    itemsDeleted: number;
    keysShredded: string[];
    readModelRowsScrubbed: number;
    jobsRemoved: number;
  };
  /** D11: every holder asked what remains; findings before the final answer are listed. */
  verification: {
    verified: boolean;
    verifiedAt: Instant | null;
    holders: HolderVerification[];
    failures: { checkedAt: Instant; position: string; holders: HolderVerification[] }[];
  };
  /** The purge receipt in the signed chain (GET /v1/audit/purges, docs/receipts.md). */
  receipt: CertificateReceiptLink & { position: string };
  timeline: TimelineEntry[];
  /** The log position the certificate covers up to: the purge's completion (its receipt). */
  upToPosition: string;
}

export type SignedEndOfLifeCertificate = EndOfLifeCertificate & { signature: ReceiptSignature };

/** Why no certificate can be made (yet) from a stream. */
export type CertificateUnavailable = 'not_registered' | 'not_purged';

/** The subscription's completed purge in its stream, or why there is none. */
export function completedPurgeOf(
  events: readonly CertificateSourceEvent[],
): { eventId: string; position: bigint } | CertificateUnavailable {
  if (events[0]?.type !== 'SubscriptionRegistered') return 'not_registered';
  const purged = events.find((e) => e.type === 'ProductDataPurged');
  return purged ? { eventId: purged.eventId, position: BigInt(purged.position) } : 'not_purged';
}

type Sourced<E> = E & { source: CertificateSourceEvent };
type AnyEvent = Sourced<SubscriptionEvent | AccountEvent>;
type Of<T extends AnyEvent['type']> = Extract<AnyEvent, { type: T }>;

const pos = (e: CertificateSourceEvent): bigint => BigInt(e.position);
const actorOf = (
  a: Actor | { actorId: string; role: string } | null | undefined,
): CertificateActor => (a ? { actorId: a.actorId, role: a.role } : null);

export class CertificateError extends Error {
  constructor(
    readonly reason: CertificateUnavailable | 'inconsistent',
    message: string,
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}

/**
 * The certificate of a purged subscription, unsigned. `subscription`: its whole stream;
 * `account`: its account's stream (events after the purge are ignored); `receipt`: the purge
 * receipt's link in the chain. Throws CertificateError when the stream holds no completed purge.
 */
export function buildEndOfLifeCertificate(input: {
  subscription: readonly CertificateSourceEvent[];
  account: readonly CertificateSourceEvent[];
  receipt: CertificateReceiptLink;
}): EndOfLifeCertificate {
  const purge = completedPurgeOf(input.subscription);
  if (purge === 'not_registered' || purge === 'not_purged')
    throw new CertificateError(purge, `no end-of-life certificate: ${purge}`);
  const upTo = purge.position;
  const sub = input.subscription
    .filter((e) => pos(e) <= upTo)
    .map((e) => ({ type: e.type, data: e.data, source: e }) as unknown as AnyEvent);
  const acc = input.account
    .filter((e) => pos(e) < upTo)
    .map((e) => ({ type: e.type, data: e.data, source: e }) as unknown as AnyEvent);

  const registered = sub[0] as Of<'SubscriptionRegistered'>;
  const purged = sub[sub.length - 1] as Of<'ProductDataPurged'>;
  if (purged.source.eventId !== input.receipt.receiptId)
    throw new CertificateError(
      'inconsistent',
      `the receipt link names ${input.receipt.receiptId}, the purge is ${purged.source.eventId}`,
    );
  const lastIndex = <T extends AnyEvent['type']>(
    type: T,
    before = sub.length,
    from = 0,
  ): number => {
    for (let i = before - 1; i >= from; i--) if (sub[i]!.type === type) return i;
    return -1;
  };
  const expiredIndex = lastIndex('SubscriptionExpired');
  if (expiredIndex < 0) throw new CertificateError('inconsistent', 'purged without an expiry');
  const expired = sub[expiredIndex] as Of<'SubscriptionExpired'>;
  // The final episode: from the last reactivation before the final expiry (or the registration).
  const episodeStart = Math.max(0, lastIndex('SubscriptionReactivated', expiredIndex));
  const end = endOf(sub, episodeStart, expiredIndex, lastIndex, expired);

  const after = sub.slice(expiredIndex + 1);
  const purgeId = purged.data.receipt.purgeId;
  const ofPurge = <T extends AnyEvent['type']>(type: T) =>
    after.filter(
      (e): e is Of<T> => e.type === type && (e.data as { purgeId?: string }).purgeId === purgeId,
    );
  const started = ofPurge('PurgeStarted')[0];
  if (!started) throw new CertificateError('inconsistent', 'purged without PurgeStarted');
  const deferred = after.find((e): e is Of<'PurgeDeferred'> => e.type === 'PurgeDeferred');
  const holds = deferred ? holdsDeferring(acc, pos(deferred.source), pos(started.source)) : [];
  const holdPositions = new Set(holds.flatMap((h) => h.positions));
  const holderPurged = ofPurge('ProductDataHolderPurged');
  const receipt = purged.data.receipt;

  let episode = 1;
  const timeline = [...sub, ...acc.filter((e) => holdPositions.has(pos(e.source)))]
    .sort((a, b) => (pos(a.source) < pos(b.source) ? -1 : pos(a.source) > pos(b.source) ? 1 : 0))
    .flatMap((e) => {
      if (e.type === 'SubscriptionReactivated') episode += 1;
      return timelineEntry(e, episode);
    });

  return {
    type: CERTIFICATE_TYPE,
    version: CERTIFICATE_VERSION,
    subscriptionId: registered.data.subscriptionId,
    accountId: registered.data.accountId,
    productId: registered.data.productId,
    plan: copyPlan(registered.data.plan),
    contract: registered.data.contract,
    timeZone: registered.data.timeZone,
    registeredAt: registered.data.registeredAt,
    ending: end.certificate,
    expiry: {
      expiresAt: expired.data.expiresAt,
      expiredAt: expired.data.expiredAt,
      purgeAt: expired.data.purgeAt,
      position: String(expired.source.position),
    },
    purgeNotices: after
      .filter((e): e is Of<'PurgeNoticeIssued'> => e.type === 'PurgeNoticeIssued')
      .map((e) => ({
        daysBefore: e.data.daysBefore,
        noticeAt: e.data.noticeAt,
        issuedAt: e.data.issuedAt,
      })),
    deferral: deferred
      ? {
          deferredAt: deferred.data.deferredAt,
          purgeAt: deferred.data.purgeAt,
          reason: 'legal_hold',
          holds: holds.map((h) => h.hold),
        }
      : null,
    purge: {
      purgeId,
      startedAt: started.data.startedAt,
      purgedAt: purged.data.purgedAt,
      position: String(purged.source.position),
      holders: receipt.holders.map((h) => ({
        holder: h.holder,
        itemsDeleted: h.itemsDeleted,
        bytesDeleted: h.bytesDeleted,
        contentHash: h.contentHash,
        location: h.location,
        externalReceiptId: h.externalReceiptId,
        purgedAt:
          holderPurged.find((e) => e.data.receipt.holder === h.holder)?.data.purgedAt ?? null,
      })),
      itemsDeleted: receipt.itemsDeleted,
      keysShredded: [...receipt.keysShredded],
      readModelRowsScrubbed: receipt.readModelRowsScrubbed,
      jobsRemoved: receipt.jobsRemoved,
    },
    verification: {
      verified: receipt.verification !== undefined,
      verifiedAt: receipt.verification?.verifiedAt ?? null,
      holders: (receipt.verification?.holders ?? []).map(copyVerification),
      failures: ofPurge('PurgeVerificationFailed').map((e) => ({
        checkedAt: e.data.checkedAt,
        position: String(e.source.position),
        holders: e.data.holders.map(copyVerification),
      })),
    },
    receipt: {
      receiptId: input.receipt.receiptId,
      sequence: input.receipt.sequence,
      hash: input.receipt.hash,
      previousHash: input.receipt.previousHash,
      position: String(purged.source.position),
    },
    timeline,
    upToPosition: String(upTo),
  };
}

/** The certificate with its signature (the receipts' scheme: docs/receipts.md). */
export function signEndOfLifeCertificate(
  certificate: EndOfLifeCertificate,
  signer: ReceiptSigner,
): SignedEndOfLifeCertificate {
  return { ...certificate, signature: signer.sign({ ...certificate }) };
}

function copyPlan(plan: Plan): Plan {
  switch (plan.kind) {
    case 'fixed_term':
      return { kind: plan.kind, termMonths: plan.termMonths };
    case 'trial':
      return { kind: plan.kind, trialDays: plan.trialDays };
    default:
      return { kind: plan.kind };
  }
}

const copyVerification = (v: HolderVerification): HolderVerification => ({
  holder: v.holder,
  remainingItems: v.remainingItems,
  method: v.method,
  externalReceiptId: v.externalReceiptId,
});

/**
 * What ended the final episode: a termination when the expiry says so (D8), else the last
 * cancellation of the episode that was not withdrawn, else the term end (auto-renew off from the
 * registration, or a trial's end).
 */
function endOf(
  sub: AnyEvent[],
  episodeStart: number,
  expiredIndex: number,
  lastIndex: (type: AnyEvent['type'], before?: number, from?: number) => number,
  expired: Of<'SubscriptionExpired'>,
): { certificate: EndOfLifeCertificate['ending']; source: CertificateSourceEvent | null } {
  if (expired.data.cause === 'terminated') {
    const i = lastIndex('TerminationScheduled', expiredIndex + 1, episodeStart);
    const t = i >= 0 ? (sub[i] as Of<'TerminationScheduled'>) : null;
    return {
      certificate: {
        kind: 'termination',
        requestedBy: actorOf(t?.data.requestedBy ?? t?.source.metadata.actor),
        channel: t?.data.channel ?? null,
        requestedAt: t?.data.requestedAt ?? null,
        notice: null,
        termination: t
          ? { reason: t.data.reason, effective: t.data.effective, effectiveAt: t.data.effectiveAt }
          : {
              reason: expired.data.terminationReason ?? 'other',
              effective: 'instant',
              effectiveAt: expired.data.expiresAt,
            },
        position: t ? String(t.source.position) : null,
      },
      source: t?.source ?? null,
    };
  }
  const c = lastIndex('CancellationRequested', expiredIndex, episodeStart);
  const withdrawn = c >= 0 && lastIndex('CancellationWithdrawn', expiredIndex, c) >= 0;
  if (c >= 0 && !withdrawn) {
    const r = sub[c] as Of<'CancellationRequested'>;
    return {
      certificate: {
        kind: 'cancellation',
        requestedBy: actorOf(r.data.requestedBy),
        channel: r.data.channel,
        requestedAt: r.data.requestedAt,
        notice: {
          renewalDate: r.data.renewalDate,
          noticeDeadline: r.data.noticeDeadline,
          noticeDeadlineMissed: r.data.noticeDeadlineMissed,
        },
        termination: null,
        position: String(r.source.position),
      },
      source: r.source,
    };
  }
  return {
    certificate: {
      kind: 'term_end',
      requestedBy: null,
      channel: null,
      requestedAt: null,
      notice: null,
      termination: null,
      position: null,
    },
    source: null,
  };
}

/**
 * D3: the account's holds in force at some moment between the purge's deferral and its start:
 * those that kept it from running. Each with the positions of its events (for the timeline).
 */
function holdsDeferring(
  account: AnyEvent[],
  deferredAt: bigint,
  startedAt: bigint,
): { hold: CertificateHold; positions: bigint[] }[] {
  const holds = new Map<
    string,
    { placed: Of<'LegalHoldPlaced'>; released: Of<'LegalHoldReleased'> | null }
  >();
  for (const e of account) {
    if (e.type === 'LegalHoldPlaced') holds.set(e.data.holdId, { placed: e, released: null });
    else if (e.type === 'LegalHoldReleased') {
      const h = holds.get(e.data.holdId);
      if (h && !h.released) h.released = e;
    }
  }
  return [...holds.values()]
    .filter(
      ({ placed, released }) =>
        pos(placed.source) < startedAt && (released === null || pos(released.source) > deferredAt),
    )
    .map(({ placed, released }) => ({
      hold: {
        holdId: placed.data.holdId,
        placedAt: placed.data.placedAt,
        placedBy: actorOf(placed.data.requestedBy),
        releasedAt: released?.data.releasedAt ?? null,
        releasedBy: actorOf(released?.data.requestedBy),
      },
      positions: [pos(placed.source), ...(released ? [pos(released.source)] : [])],
    }));
}

/** The instant a lifecycle fact names as its own. */
function factInstant(e: AnyEvent): Instant | null {
  switch (e.type) {
    case 'SubscriptionRegistered':
      return e.data.registeredAt;
    case 'CancellationRequested':
    case 'TerminationScheduled':
      return e.data.requestedAt;
    case 'CancellationRefused':
    case 'ReactivationRefused':
      return e.data.refusedAt;
    case 'CancellationWithdrawn':
      return e.data.withdrawnAt;
    case 'TerminationRevoked':
    case 'RoomMeetingAccountRevoked':
      return e.data.revokedAt;
    case 'SubscriptionRenewed':
      // Auto renewals are routine; only a renewal forced by a missed notice (R9) belongs here.
      return e.data.reason === 'notice_deadline_missed' ? e.data.renewedAt : null;
    case 'SubscriptionExpired':
      return e.data.expiredAt;
    case 'SubscriptionReactivated':
      return e.data.reactivatedAt;
    case 'PurgeNoticeIssued':
      return e.data.issuedAt;
    case 'PurgeDeferred':
      return e.data.deferredAt;
    case 'LegalHoldPlaced':
      return e.data.placedAt;
    case 'LegalHoldReleased':
      return e.data.releasedAt;
    case 'PurgeStarted':
      return e.data.startedAt;
    case 'ProductDataHolderPurged':
    case 'ProductDataPurged':
      return e.data.purgedAt;
    case 'PurgeVerificationFailed':
      return e.data.checkedAt;
    case 'PurgeVerified':
      return e.data.verifiedAt;
    default:
      return null;
  }
}

function timelineEntry(e: AnyEvent, episode: number): TimelineEntry[] {
  const at = factInstant(e);
  if (at === null) return [];
  const data = e.data as { requestedBy?: Actor | null; channel?: string };
  return [
    {
      position: String(e.source.position),
      event: e.type as TimelineEvent,
      at,
      by: actorOf(data.requestedBy ?? e.source.metadata.actor),
      channel: data.channel ?? e.source.metadata.channel ?? null,
      episode,
    },
  ];
}
