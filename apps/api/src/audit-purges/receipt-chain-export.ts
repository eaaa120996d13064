import { Readable } from 'node:stream';
import type { Logger } from 'pino';
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
 * D11: streams the signed chain of purge receipts as NDJSON, in sequence order up to the read
 * models' position `upTo`, then the signed head line `{ type: "ReceiptChainHead", count,
 * lastHash, position, signature }` (docs/receipts.md). One page in memory, backpressure as the
 * audit export. A failure after the first byte ends the stream with one `{"error":…}` line and
 * no head, which a verifier reports as a cut-off export.
 */
export function receiptChainExport(
  store: ReadStore,
  signer: ReceiptSigner,
  upTo: bigint | null,
  logger: Logger,
): Readable {
  async function* lines(): AsyncGenerator<string> {
    let sequence = 0;
    let lastHash = GENESIS_HASH;
    try {
      for (;;) {
        const rows =
          upTo === null ? [] : await store.receiptChain(sequence, upTo, RECEIPT_EXPORT_PAGE);
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
    } catch (err) {
      logger.error({ err }, 'receipt export failed after the response started');
      yield `${JSON.stringify({ error: { code: 'INTERNAL', message: 'The export failed; it has been logged.' } })}\n`;
    }
  }
  return Readable.from(lines(), { objectMode: true, highWaterMark: 1 });
}
