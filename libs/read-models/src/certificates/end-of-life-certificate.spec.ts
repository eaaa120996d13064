import { createPublicKey, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AccountEvent, SubscriptionEvent } from '@app/domain';
import { keysByKid } from '../receipts/receipt-export-verifier';
import { ed25519KeyFromSeed, ReceiptSigner } from '../receipts/receipt-signature';
import { verifyEndOfLifeCertificate } from './end-of-life-certificate-verifier';
import {
  buildEndOfLifeCertificate,
  type CertificateReceiptLink,
  type CertificateSourceEvent,
  completedPurgeOf,
  type EndOfLifeCertificate,
  signEndOfLifeCertificate,
} from './end-of-life-certificate';

/**
 * D11: the end-of-life certificate built from literal event histories (given the log, when the
 * certificate is made, then it says…). No store, no clock: the builder is pure.
 */

const SUB = 'sub_eol';
const ACC = 'acc_eol';
const ids = { subscriptionId: SUB, accountId: ACC };

// Personal data planted in the events; none of it may reach a certificate.
const PERSONAL = {
  email: 'giulia.bianchi@example.it',
  last4: '4817',
  address: 'Via dei Fori Imperiali 7, 00186 Roma',
  comment: 'Lo studio Bianchi chiude, grazie di tutto',
  note: 'Mario Rossi disputed the charge by phone',
  holdReason: 'Litigation Bianchi v. Rossi, case 2026/118',
  releaseReason: 'Settled: Bianchi v. Rossi closed',
};

type Domain = SubscriptionEvent | AccountEvent;
type DataOf<T extends Domain['type']> = Extract<Domain, { type: T }>['data'];

/**
 * A stream being written: each event gets the next position of the log (`clock`, shared by the
 * streams of one log: positions are global) and an id, like the store gives.
 */
function log(clock = { position: 100n }) {
  const events: CertificateSourceEvent[] = [];
  const append = <T extends Domain['type']>(
    type: T,
    data: DataOf<T>,
    meta: { actor?: { actorId: string; role: string } | null; channel?: string | null } = {},
  ): CertificateSourceEvent => {
    clock.position += 7n;
    const position = clock.position;
    const e: CertificateSourceEvent = {
      eventId: `evt-${position}`,
      position,
      type,
      data,
      metadata: {
        recordedAt: '2026-01-01T00:00:00.000Z',
        actor: meta.actor ?? null,
        channel: meta.channel ?? 'system',
      },
    };
    events.push(e);
    return e;
  };
  return { events, append };
}

const agent = { actorId: 'agent_7', role: 'billing_admin' as const };
const billingService = { actorId: 'svc_billing', role: 'user' as const };
const operator = { actorId: 'ops_marco', role: 'user' as const };
const term = { start: '2026-01-30T23:00:00.000Z', end: '2026-02-27T23:00:00.000Z' };
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

function registered(l: ReturnType<typeof log>) {
  l.append('SubscriptionRegistered', {
    ...ids,
    productId: 'goto-meeting',
    plan: { kind: 'monthly' },
    contract: false,
    timeZone: 'Europe/Rome',
    anchor: term.start,
    termIndex: 0,
    currentTerm: term,
    autoRenew: true,
    outstandingBalance: null,
    assignedLicences: 3,
    registeredAt: '2026-01-30T23:00:00.000Z',
  });
}

function cancelledThroughSupport(
  l: ReturnType<typeof log>,
  requestedAt = '2026-02-10T09:00:00.000Z',
) {
  l.append(
    'CancellationRequested',
    {
      ...ids,
      productId: 'goto-meeting',
      renewalDate: term.end,
      noticeDeadline: null,
      noticeDeadlineMissed: false,
      requestedBy: agent,
      channel: 'support',
      requestedAt,
      effectiveAt: term.end,
      expiresAt: term.end,
      purgeAt: '2026-05-28T22:00:00.000Z',
      refund: 'none',
      policyVersion: 'cancellation-policy/1',
      verifiedProducts: ['goto-meeting'],
      verification: {
        billingAdminEmail: PERSONAL.email,
        paymentLast4: PERSONAL.last4,
        billingAddress: PERSONAL.address,
      },
      survey: { reason: 'unused', comment: PERSONAL.comment },
    },
    { actor: agent, channel: 'support' },
  );
  l.append('AutoRenewDisabled', {
    ...ids,
    disabledAt: requestedAt,
    reason: 'cancellation_requested',
  });
}

function expired(
  l: ReturnType<typeof log>,
  at = term.end,
  purgeAt = '2026-05-28T22:00:00.000Z',
  cause?: { terminationReason: 'payment_failed' },
) {
  l.append('SubscriptionExpired', {
    ...ids,
    productId: 'goto-meeting',
    expiresAt: at,
    expiredAt: at,
    purgeAt,
    ...(cause ? { cause: 'terminated' as const, ...cause } : {}),
  });
}

const verifiedAnswers = [
  { holder: 'local', remainingItems: 0, method: 'marker_scan' as const, externalReceiptId: null },
  { holder: 'recordings', remainingItems: 0, method: 'http' as const, externalReceiptId: 'v-9' },
];

/** The purge at `at`: started, two holders, verified, completed with its receipt. */
function purged(
  l: ReturnType<typeof log>,
  at = '2026-05-28T22:00:00.000Z',
  options: { findingsFirst?: boolean } = {},
) {
  const purgeId = `purge-${SUB}-1`;
  l.append('PurgeStarted', {
    ...ids,
    purgeId,
    startedAt: at,
    purgeAt: '2026-05-28T22:00:00.000Z',
    holders: ['local', 'recordings'],
  });
  const holders = [
    {
      holder: 'local',
      itemsDeleted: 4,
      bytesDeleted: 2048,
      contentHash: HASH_A,
      location: `local:product-data/${SUB}`,
      externalReceiptId: null,
    },
    {
      holder: 'recordings',
      itemsDeleted: 2,
      bytesDeleted: 900_000,
      contentHash: HASH_B,
      location: 'https://recordings.internal',
      externalReceiptId: 'rec-77',
    },
  ];
  for (const receipt of holders)
    l.append('ProductDataHolderPurged', { ...ids, purgeId, purgedAt: at, receipt });
  if (options.findingsFirst) {
    l.append('PurgeVerificationFailed', {
      ...ids,
      purgeId,
      checkedAt: at,
      holders: [verifiedAnswers[0]!, { ...verifiedAnswers[1]!, remainingItems: 3 }],
    });
    l.append('PurgeVerificationFailed', {
      ...ids,
      purgeId,
      checkedAt: '2026-05-28T22:05:00.000Z',
      holders: [verifiedAnswers[0]!, { ...verifiedAnswers[1]!, remainingItems: 1 }],
    });
  }
  const verifiedAt = options.findingsFirst ? '2026-05-28T22:10:00.000Z' : at;
  l.append('PurgeVerified', { ...ids, purgeId, verifiedAt, holders: verifiedAnswers });
  return l.append('ProductDataPurged', {
    ...ids,
    productId: 'goto-meeting',
    purgedAt: verifiedAt,
    expiresAt: term.end,
    purgeAt: '2026-05-28T22:00:00.000Z',
    receipt: {
      purgeId,
      holders,
      verification: { verifiedAt, holders: verifiedAnswers },
      itemsDeleted: 6,
      keysShredded: [`key-subscription-${SUB}`, `key-subscription-${SUB}#g2`],
      readModelRowsScrubbed: 5,
      jobsRemoved: 2,
    },
  });
}

const linkOf = (purgedEvent: CertificateSourceEvent): CertificateReceiptLink => ({
  receiptId: purgedEvent.eventId,
  sequence: 12,
  hash: 'c'.repeat(64),
  previousHash: 'd'.repeat(64),
});

/** given the log, when the certificate is made, then… */
function given(subscription: CertificateSourceEvent[], account: CertificateSourceEvent[] = []) {
  return {
    whenCertified(receipt = linkOf(subscription[subscription.length - 1]!)) {
      const certificate = buildEndOfLifeCertificate({ subscription, account, receipt });
      return { then: (check: (c: EndOfLifeCertificate) => void) => check(certificate) };
    },
  };
}

/** A history cancelled by the customer through support, expired and purged (the usual end). */
function supportCancellationHistory() {
  const l = log();
  registered(l);
  cancelledThroughSupport(l);
  expired(l);
  l.append('PurgeNoticeIssued', {
    ...ids,
    productId: 'goto-meeting',
    purgeAt: '2026-05-28T22:00:00.000Z',
    daysBefore: 30,
    noticeAt: '2026-04-28T22:00:00.000Z',
    issuedAt: '2026-04-28T22:00:00.000Z',
  });
  purged(l);
  return l.events;
}

describe('D11: the end-of-life certificate (pure builder)', () => {
  it('D11: a cancellation by the customer through support: who, when, channel, notice, expiry, each holder, keys, verified, receipt link', () => {
    given(supportCancellationHistory())
      .whenCertified()
      .then((c) => {
        expect(c).toMatchObject({
          type: 'EndOfLifeCertificate',
          version: 1,
          subscriptionId: SUB,
          accountId: ACC,
          productId: 'goto-meeting',
          plan: { kind: 'monthly' },
          timeZone: 'Europe/Rome',
          ending: {
            kind: 'cancellation',
            requestedBy: agent,
            channel: 'support',
            requestedAt: '2026-02-10T09:00:00.000Z',
            notice: { renewalDate: term.end, noticeDeadline: null, noticeDeadlineMissed: false },
            termination: null,
            position: '114',
          },
          expiry: {
            expiresAt: term.end,
            expiredAt: term.end,
            purgeAt: '2026-05-28T22:00:00.000Z',
          },
          purgeNotices: [
            {
              daysBefore: 30,
              noticeAt: '2026-04-28T22:00:00.000Z',
              issuedAt: '2026-04-28T22:00:00.000Z',
            },
          ],
          deferral: null,
          purge: {
            purgeId: `purge-${SUB}-1`,
            startedAt: '2026-05-28T22:00:00.000Z',
            purgedAt: '2026-05-28T22:00:00.000Z',
            itemsDeleted: 6,
            keysShredded: [`key-subscription-${SUB}`, `key-subscription-${SUB}#g2`],
            readModelRowsScrubbed: 5,
            jobsRemoved: 2,
          },
          verification: {
            verified: true,
            verifiedAt: '2026-05-28T22:00:00.000Z',
            holders: verifiedAnswers,
            failures: [],
          },
          receipt: { sequence: 12, hash: 'c'.repeat(64), previousHash: 'd'.repeat(64) },
        });
        expect(c.purge.holders).toEqual([
          {
            holder: 'local',
            itemsDeleted: 4,
            bytesDeleted: 2048,
            contentHash: HASH_A,
            location: `local:product-data/${SUB}`,
            externalReceiptId: null,
            purgedAt: '2026-05-28T22:00:00.000Z',
          },
          {
            holder: 'recordings',
            itemsDeleted: 2,
            bytesDeleted: 900_000,
            contentHash: HASH_B,
            location: 'https://recordings.internal',
            externalReceiptId: 'rec-77',
            purgedAt: '2026-05-28T22:00:00.000Z',
          },
        ]);
        expect(c.receipt.receiptId).toBe(`evt-${c.upToPosition}`);
        expect(c.receipt.position).toBe(c.upToPosition);
        // The timeline: lifecycle facts in log order, no auto-renew toggles.
        expect(c.timeline.map((e) => e.event)).toEqual([
          'SubscriptionRegistered',
          'CancellationRequested',
          'SubscriptionExpired',
          'PurgeNoticeIssued',
          'PurgeStarted',
          'ProductDataHolderPurged',
          'ProductDataHolderPurged',
          'PurgeVerified',
          'ProductDataPurged',
        ]);
        expect(c.timeline[1]).toEqual({
          position: '114',
          event: 'CancellationRequested',
          at: '2026-02-10T09:00:00.000Z',
          by: agent,
          channel: 'support',
          episode: 1,
        });
      });
  });

  it('D11: a termination by a platform service (D8): the service, channel system, the reason and how it took effect; no notice decision', () => {
    const l = log();
    registered(l);
    l.append(
      'TerminationScheduled',
      {
        ...ids,
        productId: 'goto-meeting',
        reason: 'payment_failed',
        effective: 'immediately',
        effectiveAt: '2026-02-12T10:00:00.000Z',
        purgeAt: '2026-05-13T10:00:00.000Z',
        requestedBy: billingService,
        channel: 'system',
        requestedAt: '2026-02-12T10:00:00.000Z',
        note: PERSONAL.note,
      },
      { actor: billingService },
    );
    expired(l, '2026-02-12T10:00:00.000Z', '2026-05-13T10:00:00.000Z', {
      terminationReason: 'payment_failed',
    });
    purged(l, '2026-05-13T10:00:00.000Z');
    given(l.events)
      .whenCertified()
      .then((c) => {
        expect(c.ending).toEqual({
          kind: 'termination',
          requestedBy: billingService,
          channel: 'system',
          requestedAt: '2026-02-12T10:00:00.000Z',
          notice: null,
          termination: {
            reason: 'payment_failed',
            effective: 'immediately',
            effectiveAt: '2026-02-12T10:00:00.000Z',
          },
          position: '114',
        });
        expect(c.expiry).toMatchObject({ expiredAt: '2026-02-12T10:00:00.000Z' });
        expect(JSON.stringify(c)).not.toContain(PERSONAL.note);
      });
  });

  it('D11: a pending cancellation overtaken by a termination: the termination ended it, the cancellation stays in the timeline', () => {
    const l = log();
    registered(l);
    cancelledThroughSupport(l);
    l.append('TerminationScheduled', {
      ...ids,
      productId: 'goto-meeting',
      reason: 'fraud',
      effective: 'instant',
      effectiveAt: '2026-02-20T00:00:00.000Z',
      purgeAt: '2026-05-21T00:00:00.000Z',
      requestedBy: billingService,
      channel: 'system',
      requestedAt: '2026-02-15T00:00:00.000Z',
      note: null,
    });
    expired(l, '2026-02-20T00:00:00.000Z', '2026-05-21T00:00:00.000Z', {
      terminationReason: 'payment_failed',
    });
    purged(l);
    given(l.events)
      .whenCertified()
      .then((c) => {
        expect(c.ending).toMatchObject({
          kind: 'termination',
          requestedBy: billingService,
          termination: { reason: 'fraud', effective: 'instant' },
        });
        expect(c.timeline.map((e) => e.event).slice(0, 4)).toEqual([
          'SubscriptionRegistered',
          'CancellationRequested',
          'TerminationScheduled',
          'SubscriptionExpired',
        ]);
      });
  });

  it('D11: a legal hold that deferred the purge (D3): the deferral, the hold (placed, released, by whom) and no hold reason; holds that did not defer are left out', () => {
    const clock = { position: 100n };
    const l = log(clock);
    const account = log(clock);
    registered(l);
    // A hold placed and released long before the purge fell due: it deferred nothing.
    account.append('LegalHoldPlaced', {
      accountId: ACC,
      holdId: 'hold_old',
      placedAt: '2026-01-31T10:00:00.000Z',
      requestedBy: operator,
      reason: PERSONAL.holdReason,
    });
    account.append('LegalHoldReleased', {
      accountId: ACC,
      holdId: 'hold_old',
      releasedAt: '2026-02-01T10:00:00.000Z',
      requestedBy: operator,
      reason: PERSONAL.releaseReason,
    });
    cancelledThroughSupport(l);
    expired(l);
    account.append('LegalHoldPlaced', {
      accountId: ACC,
      holdId: 'hold_1',
      placedAt: '2026-04-01T10:00:00.000Z',
      requestedBy: operator,
      reason: PERSONAL.holdReason,
    });
    l.append('PurgeDeferred', {
      ...ids,
      deferredAt: '2026-05-28T22:00:00.000Z',
      purgeAt: '2026-05-28T22:00:00.000Z',
      reason: 'legal_hold',
    });
    account.append('LegalHoldReleased', {
      accountId: ACC,
      holdId: 'hold_1',
      releasedAt: '2026-07-01T08:00:00.000Z',
      requestedBy: operator,
      reason: PERSONAL.releaseReason,
    });
    purged(l, '2026-07-01T08:00:01.000Z');
    // A hold placed after the purge is not part of this end.
    account.append('LegalHoldPlaced', {
      accountId: ACC,
      holdId: 'hold_later',
      placedAt: '2026-08-01T08:00:00.000Z',
      requestedBy: operator,
      reason: PERSONAL.holdReason,
    });

    given(l.events, account.events)
      .whenCertified()
      .then((c) => {
        expect(c.deferral).toEqual({
          deferredAt: '2026-05-28T22:00:00.000Z',
          purgeAt: '2026-05-28T22:00:00.000Z',
          reason: 'legal_hold',
          holds: [
            {
              holdId: 'hold_1',
              placedAt: '2026-04-01T10:00:00.000Z',
              placedBy: operator,
              releasedAt: '2026-07-01T08:00:00.000Z',
              releasedBy: operator,
            },
          ],
        });
        expect(c.purge.startedAt).toBe('2026-07-01T08:00:01.000Z');
        expect(c.timeline.map((e) => e.event)).toEqual([
          'SubscriptionRegistered',
          'CancellationRequested',
          'SubscriptionExpired',
          'LegalHoldPlaced',
          'PurgeDeferred',
          'LegalHoldReleased',
          'PurgeStarted',
          'ProductDataHolderPurged',
          'ProductDataHolderPurged',
          'PurgeVerified',
          'ProductDataPurged',
        ]);
        const text = JSON.stringify(c);
        for (const personal of [PERSONAL.holdReason, PERSONAL.releaseReason])
          expect(text).not.toContain(personal);
        expect(text).not.toContain('hold_old');
        expect(text).not.toContain('hold_later');
      });
  });

  it('D11: verification failures before the final verification are listed as history; verified with the final answers', () => {
    const l = log();
    registered(l);
    cancelledThroughSupport(l);
    expired(l);
    purged(l, undefined, { findingsFirst: true });
    given(l.events)
      .whenCertified()
      .then((c) => {
        expect(c.verification).toEqual({
          verified: true,
          verifiedAt: '2026-05-28T22:10:00.000Z',
          holders: verifiedAnswers,
          failures: [
            {
              checkedAt: '2026-05-28T22:00:00.000Z',
              position: expect.stringMatching(/^\d+$/),
              holders: [verifiedAnswers[0], { ...verifiedAnswers[1], remainingItems: 3 }],
            },
            {
              checkedAt: '2026-05-28T22:05:00.000Z',
              position: expect.stringMatching(/^\d+$/),
              holders: [verifiedAnswers[0], { ...verifiedAnswers[1], remainingItems: 1 }],
            },
          ],
        });
        expect(
          c.timeline.filter((e) => e.event.startsWith('PurgeVerif')).map((e) => e.event),
        ).toEqual(['PurgeVerificationFailed', 'PurgeVerificationFailed', 'PurgeVerified']);
      });
  });

  it('D11: reactivated then cancelled again: the certificate tells the final cancellation; the earlier cancellation and expiry are episode 1 of the timeline, the reactivation opens episode 2', () => {
    const l = log();
    registered(l);
    cancelledThroughSupport(l, '2026-02-05T09:00:00.000Z');
    expired(l);
    const customer = { actorId: 'usr_anna', role: 'billing_admin' as const };
    l.append(
      'SubscriptionReactivated',
      {
        ...ids,
        requestedBy: customer,
        channel: 'self_service',
        reactivatedAt: '2026-03-10T08:00:00.000Z',
        anchor: '2026-03-10T08:00:00.000Z',
        termIndex: 0,
        currentTerm: { start: '2026-03-10T08:00:00.000Z', end: '2026-04-10T07:00:00.000Z' },
        purgeAtDropped: '2026-05-28T22:00:00.000Z',
      },
      { actor: customer, channel: 'self_service' },
    );
    // A cancellation withdrawn (D1) inside the second episode…
    l.append(
      'CancellationRequested',
      {
        ...ids,
        productId: 'goto-meeting',
        renewalDate: '2026-04-10T07:00:00.000Z',
        noticeDeadline: null,
        noticeDeadlineMissed: false,
        requestedBy: customer,
        channel: 'self_service',
        requestedAt: '2026-03-15T08:00:00.000Z',
        effectiveAt: '2026-04-10T07:00:00.000Z',
        expiresAt: '2026-04-10T07:00:00.000Z',
        purgeAt: '2026-07-09T07:00:00.000Z',
        refund: 'none',
        policyVersion: 'cancellation-policy/1',
        verifiedProducts: null,
        verification: null,
        survey: null,
      },
      { actor: customer, channel: 'self_service' },
    );
    l.append('CancellationWithdrawn', {
      ...ids,
      requestedBy: customer,
      channel: 'self_service',
      withdrawnAt: '2026-03-16T08:00:00.000Z',
      expiresAtDropped: '2026-04-10T07:00:00.000Z',
      purgeAtDropped: '2026-07-09T07:00:00.000Z',
    });
    // …then the final one, on the self-service console.
    const final = l.append(
      'CancellationRequested',
      {
        ...ids,
        productId: 'goto-meeting',
        renewalDate: '2026-04-10T07:00:00.000Z',
        noticeDeadline: null,
        noticeDeadlineMissed: false,
        requestedBy: customer,
        channel: 'self_service',
        requestedAt: '2026-03-20T08:00:00.000Z',
        effectiveAt: '2026-04-10T07:00:00.000Z',
        expiresAt: '2026-04-10T07:00:00.000Z',
        purgeAt: '2026-07-09T07:00:00.000Z',
        refund: 'none',
        policyVersion: 'cancellation-policy/1',
        verifiedProducts: null,
        verification: null,
        survey: { reason: 'too_expensive' },
      },
      { actor: customer, channel: 'self_service' },
    );
    expired(l, '2026-04-10T07:00:00.000Z', '2026-07-09T07:00:00.000Z');
    purged(l, '2026-07-09T07:00:00.000Z');
    given(l.events)
      .whenCertified()
      .then((c) => {
        expect(c.ending).toMatchObject({
          kind: 'cancellation',
          requestedBy: customer,
          channel: 'self_service',
          requestedAt: '2026-03-20T08:00:00.000Z',
          position: String(final.position),
        });
        expect(c.expiry).toMatchObject({
          expiredAt: '2026-04-10T07:00:00.000Z',
          purgeAt: '2026-07-09T07:00:00.000Z',
        });
        expect(
          c.timeline.slice(0, 8).map((e) => [e.event, e.episode, e.by?.actorId ?? null]),
        ).toEqual([
          ['SubscriptionRegistered', 1, null],
          ['CancellationRequested', 1, 'agent_7'],
          ['SubscriptionExpired', 1, null],
          ['SubscriptionReactivated', 2, 'usr_anna'],
          ['CancellationRequested', 2, 'usr_anna'],
          ['CancellationWithdrawn', 2, 'usr_anna'],
          ['CancellationRequested', 2, 'usr_anna'],
          ['SubscriptionExpired', 2, null],
        ]);
      });
  });

  it('D11: a subscription that ran out at its term end (auto-renew off from the registration) says so: no one cancelled it', () => {
    const l = log();
    l.append('SubscriptionRegistered', {
      ...ids,
      productId: 'goto-meeting',
      plan: { kind: 'fixed_term', termMonths: 15 },
      contract: true,
      timeZone: 'Europe/Rome',
      anchor: term.start,
      termIndex: 0,
      currentTerm: term,
      autoRenew: false,
      outstandingBalance: null,
      assignedLicences: 0,
      registeredAt: term.start,
    });
    expired(l);
    purged(l);
    given(l.events)
      .whenCertified()
      .then((c) => {
        expect(c.plan).toEqual({ kind: 'fixed_term', termMonths: 15 });
        expect(c.ending).toEqual({
          kind: 'term_end',
          requestedBy: null,
          channel: null,
          requestedAt: null,
          notice: null,
          termination: null,
          position: null,
        });
      });
  });

  it('D11: no personal datum planted in the events reaches the certificate, whatever the keys still decrypt', () => {
    given(supportCancellationHistory())
      .whenCertified()
      .then((c) => {
        const text = JSON.stringify(c);
        for (const value of Object.values(PERSONAL)) expect(text).not.toContain(value);
        for (const part of ['giulia', 'Bianchi', 'Fori Imperiali', PERSONAL.last4])
          expect(text).not.toContain(part);
        // Nor the fields that hold them, nor the survey.
        for (const field of [
          'billingAdminEmail',
          'paymentLast4',
          'billingAddress',
          'survey',
          'comment',
          '"note"',
        ])
          expect(text).not.toContain(field);
      });
  });

  it('D11: deterministic: the same log gives byte-identical certificates and signatures; the account log after the purge changes nothing', () => {
    const signer = new ReceiptSigner(ed25519KeyFromSeed(Buffer.alloc(32, 7)));
    const make = (account: CertificateSourceEvent[] = []) => {
      const events = supportCancellationHistory();
      // A fresh copy whose objects were built in another key order: no effect on the bytes.
      const shuffled = events.map((e) => ({
        metadata: { ...e.metadata },
        data: Object.fromEntries(Object.entries(e.data).reverse()),
        type: e.type,
        position: e.position,
        eventId: e.eventId,
      }));
      return signEndOfLifeCertificate(
        buildEndOfLifeCertificate({
          subscription: shuffled,
          account,
          receipt: linkOf(events[events.length - 1]!),
        }),
        signer,
      );
    };
    const one = make();
    const later = log();
    later.append('LegalHoldPlaced', {
      accountId: ACC,
      holdId: 'hold_after',
      placedAt: '2026-09-01T00:00:00.000Z',
      requestedBy: operator,
      reason: PERSONAL.holdReason,
    });
    const laterHold = { ...later.events[0]!, position: 10_000n };
    const two = make([laterHold]);
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
    expect(two.signature).toEqual(one.signature);
    expect(one.upToPosition).toBe(one.purge.position);
  });

  it('D11: the signature verifies with Node crypto and canonicalize alone (RFC 8785 JSON without signature), and not once a field changes', () => {
    const signer = new ReceiptSigner(ed25519KeyFromSeed(Buffer.alloc(32, 9)));
    const events = supportCancellationHistory();
    const signed = signEndOfLifeCertificate(
      buildEndOfLifeCertificate({
        subscription: events,
        account: [],
        receipt: linkOf(events[events.length - 1]!),
      }),
      signer,
    );
    const publicKey = createPublicKey(signer.publicKey.export({ type: 'spki', format: 'pem' }));
    const check = (doc: Record<string, unknown>) => {
      const { signature, ...rest } = doc as { signature: { value: string } };
      return verify(
        null,
        Buffer.from(canonicalize(rest)!, 'utf8'),
        publicKey,
        Buffer.from(signature.value, 'base64'),
      );
    };
    const wire = JSON.parse(JSON.stringify(signed)) as Record<string, unknown>;
    expect(wire['signature']).toEqual({
      alg: 'Ed25519',
      kid: signer.kid,
      value: expect.any(String),
    });
    expect(check(wire)).toBe(true);
    expect(check({ ...wire, productId: 'goto-webinar' })).toBe(false);
    expect(
      check({ ...wire, ending: { ...(wire['ending'] as object), channel: 'self_service' } }),
    ).toBe(false);
  });

  it('D11: no certificate before the purge, nor for an unknown stream', () => {
    const l = log();
    registered(l);
    cancelledThroughSupport(l);
    expired(l);
    expect(completedPurgeOf(l.events)).toBe('not_purged');
    expect(completedPurgeOf([])).toBe('not_registered');
    expect(() =>
      buildEndOfLifeCertificate({
        subscription: l.events,
        account: [],
        receipt: linkOf(l.events[0]!),
      }),
    ).toThrow(/not_purged/);
    const done = supportCancellationHistory();
    expect(completedPurgeOf(done)).toEqual({
      eventId: done[done.length - 1]!.eventId,
      position: BigInt(done[done.length - 1]!.position),
    });
    // A receipt link of another purge is refused: the certificate would bind the wrong receipt.
    expect(() =>
      buildEndOfLifeCertificate({
        subscription: done,
        account: [],
        receipt: { ...linkOf(done[done.length - 1]!), receiptId: 'evt-other' },
      }),
    ).toThrow(/receipt link/);
  });
});

describe('D11: checking a certificate offline (pure core of ops verify-certificate)', () => {
  const signer = new ReceiptSigner(ed25519KeyFromSeed(Buffer.alloc(32, 3)));
  const other = new ReceiptSigner(ed25519KeyFromSeed(Buffer.alloc(32, 4)));
  const events = supportCancellationHistory();
  const certificate = buildEndOfLifeCertificate({
    subscription: events,
    account: [],
    receipt: linkOf(events[events.length - 1]!),
  });
  const keys = keysByKid([signer.publicKey]);

  it('D11: accepts the certificate as served; names forged, altered and malformed ones', () => {
    const signed = JSON.stringify(signEndOfLifeCertificate(certificate, signer));
    expect(verifyEndOfLifeCertificate(signed, keys)).toEqual({
      ok: true,
      subscriptionId: SUB,
      kid: signer.kid,
      receiptId: certificate.receipt.receiptId,
      sequence: 12,
    });
    const forged = JSON.stringify(signEndOfLifeCertificate(certificate, other));
    expect(verifyEndOfLifeCertificate(forged, keys)).toMatchObject({
      ok: false,
      problem: 'forged',
    });
    const altered = signed.replace('"channel":"support"', '"channel":"self_service"');
    expect(altered).not.toBe(signed);
    expect(verifyEndOfLifeCertificate(altered, keys)).toMatchObject({
      ok: false,
      problem: 'altered',
    });
    for (const bad of ['{', '[]', '{"type":"ReceiptChainHead"}', `{"type":"EndOfLifeCertificate"}`])
      expect(verifyEndOfLifeCertificate(bad, keys)).toMatchObject({
        ok: false,
        problem: 'malformed',
      });
  });
});
