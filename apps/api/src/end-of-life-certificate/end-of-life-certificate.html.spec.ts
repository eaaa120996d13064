import type { SignedEndOfLifeCertificate } from '@app/read-models';
import { escapeHtml, renderCertificateHtml } from './end-of-life-certificate.html';

const HOSTILE = `<script>alert("x")</script>&'`;

/** A signed certificate as the builder makes it, with values an outside holder could send. */
const certificate: SignedEndOfLifeCertificate = {
  type: 'EndOfLifeCertificate',
  version: 1,
  subscriptionId: 'sub_1',
  accountId: 'acc_1',
  productId: 'goto-room',
  plan: { kind: 'fixed_term', termMonths: 15 },
  contract: true,
  timeZone: 'Europe/Rome',
  registeredAt: '2026-01-30T23:00:00.000Z',
  ending: {
    kind: 'termination',
    requestedBy: { actorId: 'svc_billing', role: 'user' },
    channel: 'system',
    requestedAt: '2026-02-12T10:00:00.000Z',
    notice: null,
    termination: {
      reason: 'payment_failed',
      effective: 'immediately',
      effectiveAt: '2026-02-12T10:00:00.000Z',
    },
    position: '3',
  },
  expiry: {
    expiresAt: '2026-02-12T10:00:00.000Z',
    expiredAt: '2026-02-12T10:00:00.000Z',
    purgeAt: '2026-05-13T10:00:00.000Z',
    position: '4',
  },
  purgeNotices: [],
  deferral: null,
  purge: {
    purgeId: 'purge-sub_1-1',
    startedAt: '2026-05-13T10:00:00.000Z',
    purgedAt: '2026-05-13T10:00:01.000Z',
    position: '9',
    holders: [
      {
        holder: 'recordings',
        itemsDeleted: 2,
        bytesDeleted: 10,
        contentHash: HOSTILE,
        location: `https://x.example/"><img src=x onerror=alert(1)>`,
        externalReceiptId: HOSTILE,
        purgedAt: '2026-05-13T10:00:00.000Z',
      },
    ],
    itemsDeleted: 2,
    keysShredded: ['key-subscription-sub_1'],
    readModelRowsScrubbed: 1,
    jobsRemoved: 0,
  },
  verification: {
    verified: true,
    verifiedAt: '2026-05-13T10:00:01.000Z',
    holders: [
      { holder: 'recordings', remainingItems: 0, method: 'http', externalReceiptId: HOSTILE },
    ],
    failures: [],
  },
  receipt: {
    receiptId: 'r-1',
    sequence: 1,
    hash: 'c'.repeat(64),
    previousHash: '0'.repeat(64),
    position: '9',
  },
  timeline: [
    {
      position: '3',
      event: 'TerminationScheduled',
      at: '2026-02-12T10:00:00.000Z',
      by: { actorId: 'svc_billing', role: 'user' },
      channel: 'system',
      episode: 1,
    },
  ],
  upToPosition: '9',
  signature: { alg: 'Ed25519', kid: '0123456789abcdef', value: 'c2lnbmF0dXJl' },
};

describe('D11: the certificate page (HTML renderer)', () => {
  const page = renderCertificateHtml(certificate, {
    jsonPath: '/v1/subscriptions/sub_1/end-of-life-certificate',
  });

  it('D11: every value is HTML-escaped: what a data holder sends cannot add markup to the page', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<img');
    expect(page).toContain(escapeHtml(HOSTILE));
    // The holder's own location (an internal host) stays in the signed JSON; the page says it in words.
    expect(page).not.toContain('x.example');
    expect(page).toContain('the product&#39;s own service');
  });

  it('D11: a termination in plain language: who, the reason, the dates in the account zone; self-contained, deterministic', () => {
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).toContain('terminated by <code>svc_billing</code> (user), a platform service');
    expect(page).toContain('payment failed');
    expect(page).toContain('12 February 2026, 11:00'); // 10:00 UTC in Rome
    expect(page).toContain('GoTo Room');
    expect(page).not.toMatch(/<link|<script|@import|url\(|https?:\/\/(?!x\.example)/i);
    expect(
      renderCertificateHtml(certificate, {
        jsonPath: '/v1/subscriptions/sub_1/end-of-life-certificate',
      }),
    ).toBe(page);
  });

  it('D11: a term end names no requester; an unverified purge says it was not verified', () => {
    const other = renderCertificateHtml(
      {
        ...certificate,
        ending: { ...certificate.ending, kind: 'term_end', requestedBy: null, termination: null },
        verification: { verified: false, verifiedAt: null, holders: [], failures: [] },
      },
      { jsonPath: '/x' },
    );
    expect(other).toContain('Term ran out without renewal');
    expect(other).not.toContain('Requested by');
    expect(other).toContain('Not verified');
  });
});
