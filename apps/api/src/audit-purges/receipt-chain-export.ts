import {
  CHAIN_HEAD_TYPE,
  GENESIS_HASH,
  type ReadStore,
  type ReceiptSigner,
  toPurgeReceiptView,
} from '@app/read-models';

/** Receipts per database round trip while streaming. */
export const RECEIPT_EXPORT_PAGE = 500;

/**
 * D11: the signed chain of purge receipts as NDJSON, in sequence order up to the read models'
 * position `upTo`, then the signed head line `{ type: "ReceiptChainHead", count, lastHash,
 * position, signature }` (docs/receipts.md). An export cut short (an error line instead of the
 * head) is reported by a verifier as cut off.
 */
export async function* receiptChainLines(
  store: ReadStore,
  signer: ReceiptSigner,
  upTo: bigint | null,
): AsyncGenerator<string> {
  let sequence = 0;
  let lastHash = GENESIS_HASH;
  for (;;) {
    const rows = upTo === null ? [] : await store.receiptChain(sequence, upTo, RECEIPT_EXPORT_PAGE);
    let chunk = '';
    for (const row of rows) {
      chunk += `${JSON.stringify(toPurgeReceiptView(row))}\n`;
      sequence = Number(row.sequence);
      lastHash = row.receipt_hash!;
    }
    if (chunk) yield chunk;
    if (rows.length < RECEIPT_EXPORT_PAGE) break;
  }
  const head = {
    type: CHAIN_HEAD_TYPE,
    count: sequence,
    lastHash,
    position: upTo?.toString() ?? '0',
  };
  yield `${JSON.stringify({ ...head, signature: signer.sign(head) })}\n`;
}
