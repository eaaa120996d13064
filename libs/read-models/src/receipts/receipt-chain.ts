import type { Kysely, Transaction } from 'kysely';
import type { PurgeReceiptsTable, ReadDatabase } from '../database/read-db.schema';
import {
  documentHash,
  GENESIS_HASH,
  RECEIPT_ALG,
  type ReceiptSignature,
  type ReceiptSigner,
} from './receipt-signature';

/**
 * D11: the purge receipts as one signed chain (docs/receipts.md). The one mapping
 * (read-model-rows.ts) makes each receipt's row from its ProductDataPurged event; this links it,
 * in log order, after the receipt before it: `sequence` (1, 2, 3…), `previousHash` (the hash of
 * the receipt before, GENESIS_HASH for the first), and the Ed25519 signature of the receipt with
 * both. Ed25519 is deterministic and the log's order fixed, so every path that links (the live
 * projector, the replay after its parallel fold, `ops verify`) makes the same links from the
 * same log with the same key.
 */

/** A purge receipt as GET /v1/audit/purges shows it and as it is signed (with `signature`). */
export interface PurgeReceiptView {
  /** Stable: the id of the ProductDataPurged event it records. */
  receiptId: string;
  /** Its place in the chain of every receipt, in log order, from 1. */
  sequence: number;
  /** hex sha256 of the receipt before (canonical, signed); 64 zeros for the first. */
  previousHash: string;
  position: string;
  purgeId: string;
  subscriptionId: string;
  accountId: string;
  productId: string;
  expiresAt: string;
  purgeAt: string;
  purgedAt: string;
  receipt: unknown;
  job: {
    commandId: string | null;
    correlationId: string;
    causationId: string | null;
    actor: { actorId: string; role: string } | null;
    channel: string | null;
  };
  /**
   * Every data holder confirmed that nothing of the subscription remains (`receipt.verification`,
   * D11). False only on receipts of purges completed before holders were asked to verify.
   */
  verified: boolean;
  signature: ReceiptSignature;
}

export type UnsignedReceipt = Omit<PurgeReceiptView, 'signature'>;

/** Where the chain stands: the last linked receipt (null: none yet). */
export interface ChainHead {
  sequence: number;
  hash: string;
}

export type ReceiptLink = Pick<
  PurgeReceiptsTable,
  'sequence' | 'previous_hash' | 'signature_kid' | 'signature_value' | 'receipt_hash'
>;

/** The receipt a row shows, at a place in the chain, before it is signed. */
export function unsignedReceipt(
  row: PurgeReceiptsTable,
  sequence: number,
  previousHash: string,
): UnsignedReceipt {
  const receipt = JSON.parse(row.receipt) as { verification?: unknown } | null;
  return {
    receiptId: row.event_id,
    sequence,
    previousHash,
    position: String(row.position),
    purgeId: row.purge_id,
    subscriptionId: row.subscription_id,
    accountId: row.account_id,
    productId: row.product_id,
    expiresAt: row.expires_at,
    purgeAt: row.purge_at,
    purgedAt: row.purged_at,
    receipt,
    job: {
      commandId: row.command_id,
      correlationId: row.correlation_id,
      causationId: row.causation_id,
      actor:
        row.actor_id !== null ? { actorId: row.actor_id, role: row.actor_role ?? 'user' } : null,
      channel: row.channel,
    },
    verified: receipt?.verification !== undefined,
  };
}

/** The link of `row` after `previous`: its sequence, previous hash, signature and own hash. */
export function linkReceipt(
  previous: ChainHead | null,
  row: PurgeReceiptsTable,
  signer: ReceiptSigner,
): ReceiptLink {
  const sequence = (previous?.sequence ?? 0) + 1;
  const previousHash = previous?.hash ?? GENESIS_HASH;
  const document = unsignedReceipt(row, sequence, previousHash);
  const signature = signer.sign({ ...document });
  return {
    sequence,
    previous_hash: previousHash,
    signature_kid: signature.kid,
    signature_value: signature.value,
    receipt_hash: documentHash({ ...document, signature }),
  };
}

/** The signed receipt of a linked row (null: not linked yet). */
export function receiptOfRow(row: PurgeReceiptsTable): PurgeReceiptView | null {
  if (
    row.sequence === null ||
    row.previous_hash === null ||
    row.signature_kid === null ||
    row.signature_value === null
  )
    return null;
  return {
    ...unsignedReceipt(row, Number(row.sequence), row.previous_hash),
    signature: { alg: RECEIPT_ALG, kid: row.signature_kid, value: row.signature_value },
  };
}

const PAGE = 500;

/**
 * Links every receipt not linked yet, in log order, after the last linked one; in the caller's
 * transaction (the projector's batch: one writer holding its lease, or a replay's shadow).
 * Receipts are linked as a prefix of the log: one below the last linked receipt means rows were
 * lost or changed by hand, and only a replay can relink them.
 */
export async function linkPendingReceipts(
  db: Kysely<ReadDatabase> | Transaction<ReadDatabase>,
  signer: ReceiptSigner,
): Promise<number> {
  const last = await db
    .selectFrom('rm_purge_receipts')
    .select(['position', 'sequence', 'receipt_hash'])
    .where('sequence', 'is not', null)
    // Linked receipts are a prefix of the log: the last one by position is the last by sequence
    // (and found on the primary key, also in a replay's shadow without secondary indexes).
    .orderBy('position', 'desc')
    .limit(1)
    .executeTakeFirst();
  let head: ChainHead | null =
    last && last.receipt_hash !== null
      ? { sequence: Number(last.sequence), hash: last.receipt_hash }
      : null;
  let after: PurgeReceiptsTable['position'] | null = null;
  let linked = 0;
  for (;;) {
    let q = db
      .selectFrom('rm_purge_receipts')
      .selectAll()
      .where('sequence', 'is', null)
      .orderBy('position')
      .limit(PAGE);
    if (after !== null) q = q.where('position', '>', after);
    const rows = await q.execute();
    for (const row of rows) {
      if (last && BigInt(row.position) < BigInt(last.position))
        throw new Error(
          `receipts: the receipt at position ${row.position} is not linked but comes before the ` +
            `last linked one (${last.position}); rebuild the read models (ops replay)`,
        );
      const link = linkReceipt(head, row, signer);
      await db
        .updateTable('rm_purge_receipts')
        .set(link)
        .where('position', '=', row.position)
        .execute();
      head = { sequence: link.sequence!, hash: link.receipt_hash! };
      linked++;
    }
    if (rows.length < PAGE) return linked;
    after = rows[rows.length - 1]!.position;
  }
}
