import type { KeyObject } from 'node:crypto';
import { verifySignature } from '../receipts/receipt-signature';
import { CERTIFICATE_TYPE } from './end-of-life-certificate';

/**
 * D11: checks an end-of-life certificate (the JSON of GET /v1/subscriptions/{id}/
 * end-of-life-certificate) offline, with the public keys alone: signed by the key its `kid`
 * names, and not altered since (the receipts' scheme, docs/receipts.md). The core of `ops
 * verify-certificate`.
 */
export type CertificateCheck =
  | { ok: true; subscriptionId: string; kid: string; receiptId: string; sequence: number }
  | { ok: false; problem: 'malformed' | 'forged' | 'altered'; message: string };

export function verifyEndOfLifeCertificate(
  text: string,
  keys: ReadonlyMap<string, KeyObject>,
): CertificateCheck {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'malformed', message: 'not JSON' };
  }
  const c = document as {
    type?: unknown;
    subscriptionId?: unknown;
    receipt?: { receiptId?: unknown; sequence?: unknown };
    signature?: { kid?: unknown };
  };
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    return { ok: false, problem: 'malformed', message: 'not a JSON object' };
  if (c.type !== CERTIFICATE_TYPE)
    return { ok: false, problem: 'malformed', message: `not an ${CERTIFICATE_TYPE}` };
  const kid = c.signature?.kid;
  if (typeof kid !== 'string') return { ok: false, problem: 'malformed', message: 'no signature' };
  const key = keys.get(kid);
  if (!key)
    return {
      ok: false,
      problem: 'forged',
      message: `signed by key ${kid}, which none of the public keys given is`,
    };
  if (!verifySignature(document as Record<string, unknown>, key))
    return {
      ok: false,
      problem: 'altered',
      message: `the signature does not verify under key ${kid}: the document was changed, or the signature made up`,
    };
  return {
    ok: true,
    subscriptionId: String(c.subscriptionId),
    kid,
    receiptId: String(c.receipt?.receiptId),
    sequence: Number(c.receipt?.sequence),
  };
}
