import type { KeyObject } from 'node:crypto';
import { documentHash, GENESIS_HASH, keyId, verifySignature } from './receipt-signature';

/**
 * D11: the offline check of an NDJSON export of the purge receipts (GET
 * /v1/audit/purges?format=ndjson; `npm run ops -- verify-receipts`), a pure function of the
 * export's lines and the public keys the auditor holds. docs/receipts.md shows the same in a
 * dozen lines.
 *
 * Every receipt line must carry a signature that verifies under one of the keys, the next
 * sequence number and, as `previousHash`, the hash of the line before (GENESIS_HASH for the
 * first). The last line is the signed head: how many receipts, and the last one's hash. So a
 * receipt forged, altered, removed, moved or cut off the end is found, and the first one is named.
 */

/** The last line of an export: signed, so that a cut-off end is found. */
export const CHAIN_HEAD_TYPE = 'ReceiptChainHead';

export type ReceiptProblem =
  'malformed' | 'forged' | 'altered' | 'missing' | 'reordered' | 'truncated';

export type ReceiptExportCheck =
  | { ok: true; receipts: number; lastHash: string; headKid: string }
  | {
      ok: false;
      /** 1-based line of the export where the problem shows. */
      line: number;
      receiptId: string | null;
      problem: ReceiptProblem;
      message: string;
    };

/** The keys by kid, as the check looks them up. */
export function keysByKid(publicKeys: readonly KeyObject[]): Map<string, KeyObject> {
  return new Map(publicKeys.map((k) => [keyId(k), k]));
}

type Json = Record<string, unknown>;

export function verifyReceiptExport(
  text: string,
  keys: ReadonlyMap<string, KeyObject>,
): ReceiptExportCheck {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const docs: (Json | null)[] = lines.map((l) => {
    try {
      const v = JSON.parse(l) as unknown;
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
    } catch {
      return null;
    }
  });
  const sequences = new Set(docs.map((d) => d?.['sequence']).filter((s) => typeof s === 'number'));
  const fail = (
    index: number,
    problem: ReceiptProblem,
    message: string,
  ): ReceiptExportCheck & { ok: false } => {
    const id = docs[index]?.['receiptId'];
    return {
      ok: false,
      line: index + 1,
      receiptId: typeof id === 'string' ? id : null,
      problem,
      message,
    };
  };

  let expected = 1;
  let previousHash = GENESIS_HASH;
  for (let i = 0; i < docs.length; i++) {
    const doc = docs[i];
    if (!doc) return fail(i, 'malformed', 'not a JSON object');
    if ('error' in doc) return fail(i, 'truncated', 'the export failed on the server here');
    const signature = doc['signature'] as { kid?: unknown } | undefined;
    const kid = typeof signature?.kid === 'string' ? signature.kid : '(none)';
    const key = keys.get(kid);

    if (doc['type'] === CHAIN_HEAD_TYPE) {
      if (!key) return fail(i, 'forged', `the head is signed by key ${kid}, not a given key`);
      if (!verifySignature(doc, key))
        return fail(i, 'forged', 'the head signature does not verify (forged or altered head)');
      if (i !== docs.length - 1) return fail(i + 1, 'malformed', 'a line after the head');
      if (doc['count'] !== expected - 1)
        return fail(
          i,
          'truncated',
          `the head counts ${String(doc['count'])} receipts, the export holds ${expected - 1}: ` +
            `receipts are missing at the end`,
        );
      if (doc['lastHash'] !== previousHash)
        return fail(i, 'altered', "the head's last hash is not the hash of the last receipt");
      return { ok: true, receipts: expected - 1, lastHash: previousHash, headKid: kid };
    }

    if (!key) return fail(i, 'forged', `signed by key ${kid}, not a given key`);
    if (!verifySignature(doc, key))
      return fail(i, 'altered', 'the signature does not verify: altered (or forged) receipt');
    const sequence = doc['sequence'];
    if (!Number.isSafeInteger(sequence) || typeof doc['previousHash'] !== 'string')
      return fail(i, 'malformed', 'not a purge receipt (no sequence or previousHash)');
    if (sequence !== expected) {
      const reordered =
        typeof sequence === 'number' && (sequence < expected || sequences.has(expected));
      return reordered
        ? fail(i, 'reordered', `sequence ${String(sequence)} where ${expected} belongs`)
        : fail(
            i,
            'missing',
            `sequence ${String(sequence)} where ${expected} belongs: receipt ${expected} is missing`,
          );
    }
    if (doc['previousHash'] !== previousHash)
      return fail(i, 'altered', 'previousHash is not the hash of the receipt before');
    previousHash = documentHash(doc);
    expected++;
  }
  return fail(
    docs.length,
    'truncated',
    `no signed head line after ${expected - 1} receipts: the export was cut off`,
  );
}
