import { DateTime } from 'luxon';
import { findProduct } from '@app/domain';
import type { SignedEndOfLifeCertificate, TimelineEntry } from '@app/read-models';

/**
 * D11: the end-of-life certificate as one printable page a support agent can send to a customer:
 * the same facts as the signed JSON, in plain language. Self-contained (inline CSS with print
 * styles, no script, no external resource) and deterministic (no "printed on" date). Every value
 * goes through `html` below, which escapes it; only the page's own markup is raw.
 */

/** Markup that is already safe (made by `html`). */
class Safe {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

type Value = string | number | boolean | null | undefined | Safe | readonly Value[];

const render = (value: Value): string => {
  if (value instanceof Safe) return value.text;
  if (Array.isArray(value)) return (value as readonly Value[]).map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
};

/** A template whose every interpolated value is escaped (arrays of `html` joined). */
function html(strings: TemplateStringsArray, ...values: Value[]): Safe {
  let out = strings[0]!;
  values.forEach((v, i) => (out += render(v) + strings[i + 1]!));
  return new Safe(out);
}

const ROLES: Record<string, string> = {
  billing_admin: 'billing administrator',
  product_admin: 'product administrator',
  authorized_billing_contact: 'authorized billing contact',
  user: 'user',
};
const CHANNELS: Record<string, string> = {
  self_service: 'the admin console (self-service)',
  support: 'customer support (an agent acting for the customer)',
  system: 'a platform service',
  operator: 'an operator tool',
};
const TERMINATION_REASONS: Record<string, string> = {
  payment_failed: 'payment failed',
  payment_disputed: 'payment disputed',
  fraud: 'fraud',
  terms_violation: 'breach of the terms of service',
  contract_ended: 'the contract ended',
  other: 'another reason',
};
const EFFECTIVE: Record<string, string> = {
  immediately: 'immediately',
  term_end: 'at the end of the current term',
  instant: 'at a set date within the current term',
};
const EVENTS: Record<TimelineEntry['event'], string> = {
  SubscriptionRegistered: 'Subscription registered',
  CancellationRequested: 'Cancellation requested',
  CancellationRefused: 'Cancellation refused',
  CancellationWithdrawn: 'Cancellation withdrawn',
  TerminationScheduled: 'Termination scheduled by the platform',
  TerminationRevoked: 'Termination revoked',
  SubscriptionRenewed: 'Renewed for one more term (notice deadline missed)',
  SubscriptionExpired: 'Subscription expired: access ended',
  RoomMeetingAccountRevoked: 'Room meeting account revoked',
  SubscriptionReactivated: 'Subscription reactivated',
  ReactivationRefused: 'Reactivation refused',
  PurgeNoticeIssued: 'Purge notice sent',
  PurgeDeferred: 'Purge deferred by a legal hold',
  LegalHoldPlaced: 'Legal hold placed on the account',
  LegalHoldReleased: 'Legal hold released',
  PurgeStarted: 'Purge started',
  ProductDataHolderPurged: 'A data holder deleted its data',
  PurgeVerificationFailed: 'Verification found data left; deleted again',
  PurgeVerified: 'Every data holder confirmed nothing remains',
  ProductDataPurged: 'Purge completed',
};
/** Short channel names for the timeline's column. */
const CHANNELS_SHORT: Record<string, string> = {
  self_service: 'admin console',
  support: 'support',
  system: 'platform',
  operator: 'operator',
};
const METHODS: Record<string, string> = {
  marker_scan: 'scanned its storage for the marker planted at registration and for any file',
  http: "answered the service's signed verification request",
};

const label = (table: Record<string, string>, key: string | null): string =>
  key === null ? '' : (table[key] ?? key);
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
/** 42000 → "42,000" (fixed, not the host's locale). */
const count = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export interface CertificatePageOptions {
  /** The route the JSON variant is fetched from (for the instructions). */
  jsonPath: string;
}

/** The page of a signed certificate: a full HTML document, UTF-8. */
export function renderCertificateHtml(
  c: SignedEndOfLifeCertificate,
  options: CertificatePageOptions,
): string {
  const zone = c.timeZone;
  /** "28 February 2026, 00:00" in the account's time zone. */
  const local = (iso: string | null): string =>
    iso === null
      ? ''
      : DateTime.fromISO(iso, { zone: 'utc' })
          .setZone(zone)
          .setLocale('en-GB')
          .toFormat('d LLLL yyyy, HH:mm');
  const day = (iso: string): string =>
    DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone).setLocale('en-GB').toFormat('d LLLL yyyy');
  const when = (iso: string | null) =>
    iso === null ? html`—` : html`<time datetime="${iso}">${local(iso)}</time>`;
  const who = (a: { actorId: string; role: string } | null) =>
    a === null
      ? html`the platform`
      : a.actorId.startsWith('system:')
        ? html`the service, automatically`
        : html`<code>${a.actorId}</code> (${label(ROLES, a.role)})`;
  const product = findProduct(c.productId)?.name ?? c.productId;
  const e = c.ending;
  const v = c.verification;

  const howEnded =
    e.kind === 'cancellation'
      ? html`cancelled by ${who(e.requestedBy)} through ${label(CHANNELS, e.channel)} on
        ${when(e.requestedAt)}`
      : e.kind === 'termination'
        ? html`terminated by ${who(e.requestedBy)}, ${label(CHANNELS, e.channel)}, on
          ${when(e.requestedAt)} for this reason:
          ${label(TERMINATION_REASONS, e.termination?.reason ?? null)}`
        : html`not renewed: its term ran out with automatic renewal off`;

  const summary = html`<p class="lead">
    The ${product} subscription <code>${c.subscriptionId}</code> of account
    <code>${c.accountId}</code> was ${howEnded}. Access ended on ${when(c.expiry.expiredAt)}. All of
    its product data was deleted on
    ${when(c.purge.purgedAt)}${
      v.verified
        ? html`, and every data holder then confirmed that nothing of it remains`
        : html`; the data holders were not asked to confirm it (a purge from before that check
          existed)`
    }.
  </p>`;

  const notice =
    e.notice === null
      ? null
      : html`<tr>
          <th>Notice</th>
          <td>
            ${
              e.notice.noticeDeadline === null
                ? html`No notice period applies to this plan: the subscription did not renew on
                  ${when(e.notice.renewalDate)}.`
                : e.notice.noticeDeadlineMissed
                  ? html`Given after the notice deadline of ${when(e.notice.noticeDeadline)}: the
                    subscription renewed on ${when(e.notice.renewalDate)} and ran one more term
                    before ending.`
                  : html`Given before the notice deadline of ${when(e.notice.noticeDeadline)}: the
                    subscription did not renew on ${when(e.notice.renewalDate)}.`
            }
          </td>
        </tr>`;

  const termination =
    e.termination === null
      ? null
      : html`<tr>
          <th>Termination (D8)</th>
          <td>
            Reason: ${label(TERMINATION_REASONS, e.termination.reason)}; effective
            ${label(EFFECTIVE, e.termination.effective)} (${when(e.termination.effectiveAt)}).
          </td>
        </tr>`;

  const endingTable = html`<table class="facts">
    <tr>
      <th>How it ended</th>
      <td>
        ${
          e.kind === 'cancellation'
            ? 'Cancelled by the customer'
            : e.kind === 'termination'
              ? 'Terminated by the platform, without the customer'
              : 'Term ran out without renewal'
        }
      </td>
    </tr>
    ${
      e.kind === 'term_end'
        ? null
        : html`<tr>
              <th>Requested by</th>
              <td>${who(e.requestedBy)}</td>
            </tr>
            <tr>
              <th>Through</th>
              <td>${label(CHANNELS, e.channel)}</td>
            </tr>
            <tr>
              <th>Requested on</th>
              <td>${when(e.requestedAt)}</td>
            </tr>`
    }
    ${notice}${termination}
    <tr>
      <th>Access ended</th>
      <td>
        ${when(c.expiry.expiredAt)}${
          c.expiry.expiredAt === c.expiry.expiresAt
            ? null
            : html` (due ${when(c.expiry.expiresAt)})`
        }
      </td>
    </tr>
    <tr>
      <th>Purge due</th>
      <td>${when(c.expiry.purgeAt)} (90 days after the end of access)</td>
    </tr>
    <tr>
      <th>Purge notices</th>
      <td>
        ${
          c.purgeNotices.length === 0
            ? 'none sent'
            : c.purgeNotices.map(
                (n, i) =>
                  html`${i > 0 ? '; ' : ''}${n.daysBefore} days before, sent ${when(n.issuedAt)}`,
              )
        }
      </td>
    </tr>
  </table>`;

  const holds =
    c.deferral === null
      ? null
      : html`<section>
          <h2>Legal hold</h2>
          <p>
            The purge fell due on ${when(c.deferral.purgeAt)} while the account was under a legal
            hold. It was deferred (${when(c.deferral.deferredAt)}) and ran once the hold was
            released.
          </p>
          <table class="grid">
            <thead>
              <tr>
                <th>Hold</th>
                <th>Placed</th>
                <th>By</th>
                <th>Released</th>
                <th>By</th>
              </tr>
            </thead>
            <tbody>
              ${c.deferral.holds.map(
                (h) =>
                  html`<tr>
                    <td><code>${h.holdId}</code></td>
                    <td>${when(h.placedAt)}</td>
                    <td>${who(h.placedBy)}</td>
                    <td>
                      ${h.releasedAt === null ? 'not released before the purge' : when(h.releasedAt)}
                    </td>
                    <td>${h.releasedAt === null ? null : who(h.releasedBy)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </section>`;

  const holders = html`<table class="grid">
      <thead>
        <tr>
          <th>Data holder</th>
          <th>Where</th>
          <th class="n">Items</th>
          <th class="n">Bytes</th>
          <th>Deleted</th>
          <th>Content hash · holder receipt</th>
        </tr>
      </thead>
      <tbody>
        ${c.purge.holders.map(
          (h) =>
            html`<tr>
              <td><strong>${h.holder}</strong></td>
              <td>${whereHeld(h.location)}</td>
              <td class="n">${count(h.itemsDeleted)}</td>
              <td class="n">${count(h.bytesDeleted)}</td>
              <td>${when(h.purgedAt)}</td>
              <td>
                <code class="hash">${h.contentHash}</code>${
                  h.externalReceiptId === null
                    ? null
                    : html`<br />receipt <code>${h.externalReceiptId}</code>`
                }
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    <table class="facts">
      <tr>
        <th>Items deleted</th>
        <td>${count(c.purge.itemsDeleted)}</td>
      </tr>
      <tr>
        <th>Keys destroyed</th>
        <td>
          ${c.purge.keysShredded.map((k, i) => html`${i > 0 ? ', ' : ''}<code>${k}</code>`)}
          <span class="muted"
            >(the keys of the personal data recorded about this subscription: without them it can
            never be read again)</span
          >
        </td>
      </tr>
      <tr>
        <th>Other copies removed</th>
        <td>
          ${plural(c.purge.readModelRowsScrubbed, 'query row')} scrubbed,
          ${plural(c.purge.jobsRemoved, 'scheduled job')} removed
        </td>
      </tr>
    </table>`;

  const verification = html`<p>
      ${
        v.verified
          ? html`<span class="badge ok">Verified</span> On ${when(v.verifiedAt)} every data holder
              was asked what remains of the subscription and answered: nothing.`
          : html`<span class="badge">Not verified</span> This purge completed before data holders
              were asked to confirm it.`
      }
    </p>
    ${
      v.holders.length === 0
        ? null
        : html`<table class="grid">
            <thead>
              <tr>
                <th>Data holder</th>
                <th>How it checked</th>
                <th class="n">Left</th>
                <th>Answer</th>
              </tr>
            </thead>
            <tbody>
              ${v.holders.map(
                (h) =>
                  html`<tr>
                    <td><strong>${h.holder}</strong></td>
                    <td>${label(METHODS, h.method)}</td>
                    <td class="n">${h.remainingItems}</td>
                    <td>
                      ${h.externalReceiptId === null ? '—' : html`<code>${h.externalReceiptId}</code>`}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${
      v.failures.length === 0
        ? null
        : html`<p>Before that, the check found data left behind, which was deleted again:</p>
            <ul>
              ${v.failures.map(
                (f) =>
                  html`<li>
                    ${when(f.checkedAt)}:
                    ${f.holders
                      .filter((h) => h.remainingItems > 0)
                      .map(
                        (h, i) =>
                          html`${i > 0 ? ', ' : ''}<strong>${h.holder}</strong> still held
                            ${h.remainingItems} item(s)`,
                      )}
                  </li>`,
              )}
            </ul>`
    }`;

  const episodes = c.timeline.reduce((n, t) => Math.max(n, t.episode), 1);
  const timeline = html`${
      episodes > 1
        ? html`<p class="muted">
            The subscription was reactivated after an earlier expiry; rows marked “earlier” belong
            to what was undone. The certificate describes the final end.
          </p>`
        : null
    }
    <table class="grid timeline">
      <thead>
        <tr>
          <th>When</th>
          <th>What</th>
          <th>By</th>
          <th>Through</th>
        </tr>
      </thead>
      <tbody>
        ${c.timeline.map(
          (
            t,
          ) => html`<tr${t.episode < episodes ? html` class="earlier"` : null}><td>${when(t.at)}</td>
        <td>${label(EVENTS, t.event)}${t.episode < episodes ? html` <span class="muted">(earlier)</span>` : null}</td>
        <td>${t.by === null ? html`<span class="muted">—</span>` : html`<code>${t.by.actorId}</code>`}</td>
        <td>${t.channel === null ? '—' : label(CHANNELS_SHORT, t.channel)}</td></tr>`,
        )}
      </tbody>
    </table>`;

  const receipt = html`<table class="facts">
    <tr>
      <th>Purge receipt</th>
      <td>
        <code>${c.receipt.receiptId}</code>, number ${c.receipt.sequence} in the chain of all
        receipts
      </td>
    </tr>
    <tr>
      <th>Receipt hash</th>
      <td><code class="hash">${c.receipt.hash}</code></td>
    </tr>
    <tr>
      <th>Previous receipt</th>
      <td><code class="hash">${c.receipt.previousHash}</code></td>
    </tr>
    <tr>
      <th>Records covered</th>
      <td>the service's event log up to entry ${c.upToPosition}, where the purge was completed</td>
    </tr>
  </table>`;

  const signature = html`<table class="facts">
      <tr>
        <th>Algorithm</th>
        <td>${c.signature.alg}</td>
      </tr>
      <tr>
        <th>Key id (kid)</th>
        <td><code>${c.signature.kid}</code></td>
      </tr>
      <tr>
        <th>Signature</th>
        <td><code class="hash">${c.signature.value}</code></td>
      </tr>
    </table>
    <p>
      This page shows the facts of a signed document. Anyone holding the service's public key can
      check that the document is authentic and unaltered; ask us for the signed document (JSON) and
      the public key whose key id is <code>${c.signature.kid}</code>, then:
    </p>
    <ol>
      <li>
        Remove the <code>signature</code> field and write the rest as RFC 8785 canonical JSON
        (UTF-8), say to <code>certificate.canonical.json</code>.
      </li>
      <li>
        Decode <code>signature.value</code> (base64) to <code>certificate.sig</code> and verify it
        as an Ed25519 signature over those bytes with the public key:
        <code
          >openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in certificate.canonical.json
          -sigfile certificate.sig</code
        >.
      </li>
    </ol>
    <p class="muted">
      For systems with access to the service: the document is
      <code>GET ${options.jsonPath}</code>, the keys <code>GET /v1/audit/receipt-keys</code>.
    </p>`;

  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>End-of-life certificate · ${c.subscriptionId}</title>
        <style>
          ${new Safe(STYLE)}
        </style>
      </head>
      <body>
        <main>
          <header>
            <p class="kicker">End-of-life certificate</p>
            <h1>${product} · <code>${c.subscriptionId}</code></h1>
            <p class="muted">
              Account <code>${c.accountId}</code> · product <code>${c.productId}</code> ·
              ${c.plan.kind.replace('_', ' ')} plan${c.contract ? ', contract' : ''} · registered
              ${day(c.registeredAt)} · dates in ${zone} time
            </p>
          </header>
          ${summary}
          <section>
            <h2>How the subscription ended</h2>
            ${endingTable}
          </section>
          ${holds}
          <section>
            <h2>Data deleted</h2>
            ${holders}
          </section>
          <section>
            <h2>Verification</h2>
            ${verification}
          </section>
          <section>
            <h2>Timeline</h2>
            ${timeline}
          </section>
          <section>
            <h2>Receipt</h2>
            ${receipt}
          </section>
          <section class="signature">
            <h2>Signature</h2>
            ${signature}
          </section>
          <footer>
            Made from the service's event log up to position ${c.upToPosition}. It holds no personal
            data: the personal data recorded about this subscription was destroyed with its keys.
          </footer>
        </main>
      </body>
    </html>`;
  return `${page.text}\n`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2433; --muted: #5b6476; --line: #d9dee7; --ok: #1d7a46; --accent: #23407a; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #f3f5f9; color: var(--ink); font: 14px/1.45 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 860px; margin: 24px auto; background: #fff; padding: 32px 40px; border: 1px solid var(--line); border-radius: 6px; }
header { border-bottom: 3px solid var(--accent); margin-bottom: 14px; padding-bottom: 8px; }
.kicker { margin: 0; text-transform: uppercase; letter-spacing: .12em; font-size: 11px; font-weight: bold; color: var(--accent); }
h1 { margin: 4px 0 2px; font-size: 22px; }
h2 { font-size: 14px; margin: 18px 0 6px; color: var(--accent); border-bottom: 1px solid var(--line); padding-bottom: 2px; break-after: avoid; }
p { margin: 6px 0; }
.lead { font-size: 15px; background: #f6f8fc; border-left: 4px solid var(--accent); padding: 8px 12px; }
.muted { color: var(--muted); font-size: 12px; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
code.hash { font-size: 10.5px; word-break: break-all; }
table { width: 100%; border-collapse: collapse; margin: 4px 0 8px; }
th, td { text-align: left; vertical-align: top; padding: 4px 6px; }
table.facts th { width: 26%; color: var(--muted); font-weight: normal; }
table.facts tr + tr th, table.facts tr + tr td { border-top: 1px solid #eef1f5; }
table.grid { font-size: 12.5px; }
table.grid thead th { border-bottom: 1px solid var(--line); color: var(--muted); font-weight: normal; }
table.grid tbody td { border-bottom: 1px solid #eef1f5; }
.n { text-align: right; white-space: nowrap; }
tr { break-inside: avoid; }
tr.earlier td { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #8a8f99; color: #fff; font-size: 12px; font-weight: bold; }
.badge.ok { background: var(--ok); }
ol, ul { margin: 4px 0; padding-left: 22px; }
li { margin: 2px 0; }
footer { margin-top: 18px; padding-top: 8px; border-top: 1px solid var(--line); color: var(--muted); font-size: 11.5px; }
@page { size: A4; margin: 12mm 12mm 13mm; }
@media print {
  body { background: #fff; font-size: 8.4pt; line-height: 1.32; }
  main { max-width: none; margin: 0; padding: 0; border: 0; border-radius: 0; }
  header { margin-bottom: 6px; padding-bottom: 4px; border-bottom-width: 2px; }
  h1 { font-size: 14pt; margin: 2px 0 0; }
  h2 { font-size: 9.5pt; margin: 8px 0 3px; }
  .kicker { font-size: 7.5pt; }
  .lead { font-size: 9pt; padding: 5px 9px; }
  .muted { font-size: 7.6pt; }
  code { font-size: 7.8pt; }
  code.hash { font-size: 7pt; }
  th, td { padding: 1.5px 4px; }
  table { margin: 2px 0 4px; }
  table.grid { font-size: 8pt; }
  .badge { font-size: 7.6pt; }
  footer { margin-top: 8px; padding-top: 4px; font-size: 7.4pt; }
  .signature { break-inside: avoid; }
}
`;

/**
 * Where a holder kept the data, in words for a customer: the signed JSON keeps the exact
 * location (an internal host or path), which means nothing to a customer and names internal
 * infrastructure.
 */
function whereHeld(location: string): string {
  return location.startsWith('local:') ? "the service's own storage" : "the product's own service";
}
