import { invalidState, validationFailed } from '../../kernel/domain-error';
import { isBefore, parseInstant, toInstant } from '../../kernel/time';
import type {
  CompletePurge,
  RecordHolderPurged,
  StartPurge,
  VerifyPurge,
} from '../subscription.commands';
import type {
  HolderVerification,
  ProductDataHolderPurged,
  ProductDataPurged,
  PurgeDeferred,
  PurgeStarted,
  PurgeVerificationFailed,
  PurgeVerified,
} from '../subscription.events';
import type { SubscriptionState } from '../subscription.state';
import { requireRegistered } from './require-registered';

/**
 * R15, D2, D3, D11. The purge is a process of events: started → one result per data holder →
 * verified (every holder found nothing left) → ProductDataPurged. Each step is idempotent so a crashed purge resumes where it stopped.
 * Guards read the stream, never the job: not before purgeAt, only from `expired` (a reactivated
 * subscription is active again), never under a legal hold (deferred, recorded once).
 */
export function startPurge(
  command: StartPurge,
  state: SubscriptionState,
): [PurgeStarted] | [PurgeDeferred] | [] {
  const c = command.data;
  const s = requireRegistered(state, c.subscriptionId);
  const now = toInstant(parseInstant(c.now, 'now'));
  // Reactivated, still pending, already purged: the purge job is stale and does nothing.
  if (s.status !== 'expired') return [];
  // Never early (R15): a purge job that fires before purgeAt changes nothing and is rescheduled.
  if (isBefore(now, s.purgeAt)) return [];
  if (s.purge) return []; // already under way: the caller resumes it
  if (c.legalHold) {
    if (s.purgeDeferred) return [];
    return [
      {
        type: 'PurgeDeferred',
        data: {
          subscriptionId: s.subscriptionId,
          accountId: s.accountId,
          deferredAt: now,
          purgeAt: s.purgeAt,
          reason: 'legal_hold',
        },
      },
    ];
  }
  return [
    {
      type: 'PurgeStarted',
      data: {
        subscriptionId: s.subscriptionId,
        accountId: s.accountId,
        purgeId: c.purgeId,
        startedAt: now,
        purgeAt: s.purgeAt,
        holders: [...c.holders],
      },
    },
  ];
}

function purgeUnderWay(state: SubscriptionState, subscriptionId: string, purgeId: string) {
  const s = requireRegistered(state, subscriptionId);
  if (s.status !== 'expired' || !s.purge)
    throw invalidState(`No purge is under way for subscription ${subscriptionId}.`, {
      status: s.status,
    });
  if (s.purge.purgeId !== purgeId)
    throw invalidState(`Purge ${purgeId} is not the one under way (${s.purge.purgeId}).`);
  return { s, purge: s.purge };
}

export function recordHolderPurged(
  command: RecordHolderPurged,
  state: SubscriptionState,
): [ProductDataHolderPurged] | [] {
  const c = command.data;
  const current = requireRegistered(state, c.subscriptionId);
  if (current.status === 'purged') return [];
  const { s, purge } = purgeUnderWay(state, c.subscriptionId, c.purgeId);
  if (!purge.holders.includes(c.receipt.holder))
    throw invalidState(`Holder ${c.receipt.holder} is not part of purge ${c.purgeId}.`);
  // Counted once: a holder retried after a crash does not add its items twice.
  if (purge.done.some((r) => r.holder === c.receipt.holder)) return [];
  return [
    {
      type: 'ProductDataHolderPurged',
      data: {
        subscriptionId: s.subscriptionId,
        accountId: s.accountId,
        purgeId: c.purgeId,
        purgedAt: toInstant(parseInstant(c.now, 'now')),
        receipt: c.receipt,
      },
    },
  ];
}

/**
 * D11: every holder, asked after its deletion, says what remains. All nothing: PurgeVerified. Data
 * still found: PurgeVerificationFailed (a recorded finding, not an error: the purge stays open and
 * the job retries), recorded again only when the finding changes.
 */
export function verifyPurge(
  command: VerifyPurge,
  state: SubscriptionState,
): [PurgeVerified] | [PurgeVerificationFailed] | [] {
  const c = command.data;
  const current = requireRegistered(state, c.subscriptionId);
  if (current.status === 'purged') return [];
  const { s, purge } = purgeUnderWay(state, c.subscriptionId, c.purgeId);
  if (purge.verification) return [];
  const notDeleted = purge.holders.filter((h) => !purge.done.some((r) => r.holder === h));
  if (notDeleted.length > 0)
    throw invalidState(`Purge ${c.purgeId}: ${notDeleted.join(', ')} have not deleted yet.`, {
      missing: notDeleted,
    });
  const bad = c.verifications.find(
    (v) => !Number.isSafeInteger(v.remainingItems) || v.remainingItems < 0,
  );
  if (bad)
    throw validationFailed(`Holder ${bad.holder}: remainingItems must be a whole number ≥ 0.`);
  const holders = c.verifications.map((v) => v.holder);
  if (new Set(holders).size !== holders.length)
    throw validationFailed(`Purge ${c.purgeId}: a holder answered twice.`);
  const answers = purge.holders.map((h) => c.verifications.find((v) => v.holder === h));
  const unanswered = purge.holders.filter((_, i) => !answers[i]);
  const at = toInstant(parseInstant(c.now, 'now'));
  const ids = { subscriptionId: s.subscriptionId, accountId: s.accountId, purgeId: c.purgeId };
  const remaining = answers.filter((v) => v && v.remainingItems !== 0) as HolderVerification[];
  // What a holder still finds is recorded even while another has not answered (it keeps the
  // purge open either way, and the log says why), unless that would replace a finding recorded
  // for a holder that has not answered now: that one stands until the holder answers again.
  const dropsAFinding = (purge.remaining ?? []).some((r) => unanswered.includes(r.holder));
  if (unanswered.length > 0 && (remaining.length === 0 || dropsAFinding))
    throw invalidState(`Purge ${c.purgeId}: ${unanswered.join(', ')} have not verified.`, {
      missing: unanswered,
    });
  if (remaining.length > 0) {
    if (sameFinding(purge.remaining ?? [], remaining)) return [];
    return [
      { type: 'PurgeVerificationFailed', data: { ...ids, checkedAt: at, holders: remaining } },
    ];
  }
  return [
    {
      type: 'PurgeVerified',
      data: { ...ids, verifiedAt: at, holders: answers as HolderVerification[] },
    },
  ];
}

function sameFinding(
  before: readonly HolderVerification[],
  now: readonly HolderVerification[],
): boolean {
  return (
    before.length === now.length &&
    now.every((v) =>
      before.some((b) => b.holder === v.holder && b.remainingItems === v.remainingItems),
    )
  );
}

export function completePurge(
  command: CompletePurge,
  state: SubscriptionState,
): [ProductDataPurged] | [] {
  const c = command.data;
  const current = requireRegistered(state, c.subscriptionId);
  if (current.status === 'purged') return [];
  const { s, purge } = purgeUnderWay(state, c.subscriptionId, c.purgeId);
  const missing = purge.holders.filter((h) => !purge.done.some((r) => r.holder === h));
  // Never "done" while a holder has not confirmed: a purge is complete or it is open.
  if (missing.length > 0)
    throw invalidState(`Purge ${c.purgeId} still waits for ${missing.join(', ')}.`, { missing });
  // D11: complete only when verified, not when deletion was merely requested.
  if (!purge.verification)
    throw invalidState(`Purge ${c.purgeId} is not verified: no holder was asked what remains.`);
  return [
    {
      type: 'ProductDataPurged',
      data: {
        subscriptionId: s.subscriptionId,
        accountId: s.accountId,
        productId: s.productId,
        purgedAt: toInstant(parseInstant(c.now, 'now')),
        expiresAt: s.expiresAt,
        purgeAt: s.purgeAt,
        receipt: {
          purgeId: c.purgeId,
          holders: [...purge.done],
          itemsDeleted: purge.done.reduce((n, r) => n + r.itemsDeleted, 0),
          keysShredded: [...c.keysShredded],
          readModelRowsScrubbed: c.readModelRowsScrubbed,
          jobsRemoved: c.jobsRemoved,
          verification: purge.verification,
        },
      },
    },
  ];
}
