import type { EventStore, RecordedEvent } from '@app/event-store';
import {
  type AccountFold,
  accountRow,
  auditRow,
  emptyAccountFold,
  emptySubscriptionFold,
  foldAccountEvent,
  foldSubscriptionEvent,
  type ChainHead,
  type IntegrationEventsTable,
  linkReceipt,
  projectedStream,
  type PurgeReceiptsTable,
  type ReadDb,
  type ReceiptSigner,
  ReadStore,
  type SubscriptionFold,
  subscriptionRow,
  type Upcast,
  type WritePosition,
} from '@app/read-models';

export type DriftKind =
  | 'audit-row-missing'
  | 'audit-row-extra'
  | 'audit-row-different'
  | 'subscription-row-missing'
  | 'subscription-row-orphan'
  | 'subscription-row-different'
  | 'account-row-missing'
  | 'account-row-orphan'
  | 'account-row-different'
  | 'receipt-row-missing'
  | 'receipt-row-extra'
  | 'receipt-row-different'
  | 'integration-row-missing'
  | 'integration-row-extra'
  | 'integration-row-different';

export interface Drift {
  kind: DriftKind;
  /** Stream id (or position for audit, receipt and integration-event rows). */
  key: string;
  /** Field → { expected (the fold of the log), actual (the row) }. */
  fields?: Record<string, { expected: unknown; actual: unknown }>;
}

export interface VerifyReport {
  /** The read models' checkpoint: every event up to it is checked. */
  checkpoint: string | null;
  events: number;
  auditRows: number;
  subscriptions: number;
  accounts: number;
  receipts: number;
  /** Integration events (the feed and webhooks' rows) the log calls for. */
  integrationEvents: number;
  /** Rows changed after the checkpoint was read (a projector running meanwhile): not judged. */
  skippedNewer: number;
  driftCount: number;
  /** The first `maxDrifts` drifts. */
  drifts: Drift[];
  ok: boolean;
  durationMs: number;
}

export interface VerifyOptions {
  log: EventStore;
  readDb: ReadDb;
  upcast?: Upcast;
  /**
   * D11: the key the projector signs with; each receipt's link (sequence, previous hash,
   * signature, hash) is then checked too. Without it only the receipts' own columns are.
   */
  signer?: ReceiptSigner;
  batchSize?: number;
  maxDrifts?: number;
  onProgress?: (p: { done: number; total: number }) => void;
}

/** The receipt columns set by linking (checked only with the signer). */
const CHAIN_COLUMNS = [
  'sequence',
  'previous_hash',
  'signature_kid',
  'signature_value',
  'receipt_hash',
] as const;

/** Rows are compared as text: positions as decimal strings, whatever the dialect returns. */
const asText: WritePosition = (p) => p.toString();

/** Canonical JSON (sorted keys) so that two equal objects compare equal as text. */
function canonical(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/** Field → expected/actual of the columns that differ (compared as canonical text). */
function differences(
  expected: Record<string, unknown>,
  actual: Record<string, unknown>,
): Drift['fields'] | null {
  const fields: NonNullable<Drift['fields']> = {};
  for (const [k, v] of Object.entries(expected))
    if (canonical(v ?? null) !== canonical(actual[k] ?? null))
      fields[k] = { expected: v, actual: actual[k] };
  return Object.keys(fields).length > 0 ? fields : null;
}

/** A row as text: positions and flags as the mapping gives them, JSON columns parsed. */
function normalized(
  row: Record<string, unknown>,
  json: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row))
    out[k] =
      json.includes(k) && typeof v === 'string'
        ? (JSON.parse(v) as unknown)
        : typeof v === 'bigint' || k === 'position' || k === 'registered_position'
          ? String(v)
          : typeof v === 'number' || typeof v === 'string' || v === null
            ? v
            : Number(v);
  return out;
}

/**
 * Rows keyed by log position (receipts, integration events): each expected row against the row
 * at its position (missing, or columns that differ, `json` compared parsed), and rows no expected
 * one names (extra).
 */
function compareByPosition(
  what: 'receipt' | 'integration',
  expected: readonly object[],
  rows: readonly object[],
  json: string,
  drift: (d: Drift) => void,
): void {
  const position = (row: object) => String((row as { position: unknown }).position);
  const byPosition = new Map(rows.map((row) => [position(row), row]));
  for (const want of expected) {
    const key = position(want);
    const row = byPosition.get(key);
    if (!row) {
      drift({ kind: `${what}-row-missing`, key });
      continue;
    }
    byPosition.delete(key);
    const fields = differences(normalized({ ...want }, [json]), normalized({ ...row }, [json]));
    if (fields) drift({ kind: `${what}-row-different`, key, fields });
  }
  for (const key of byPosition.keys()) drift({ kind: `${what}-row-extra`, key });
}

/**
 * Compares every read-model row with the rows the projection's mapping (read-model-rows.ts)
 * makes from the log: audit rows one per event up to the read models' checkpoint, subscriptions,
 * accounts, purge receipts and integration events column by column. What it catches is a row that differs from its events: lost or
 * doubled writes, a batch applied twice or out of order, a row changed by hand. Read-only.
 */
export async function verifyReadModels(o: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const upcast = o.upcast ?? ((e: RecordedEvent) => e);
  const max = o.maxDrifts ?? 100;
  const store = new ReadStore(o.readDb);
  const checkpoint = await store.checkpoint();
  const drifts: Drift[] = [];
  let driftCount = 0;
  const drift = (d: Drift): void => {
    driftCount++;
    if (drifts.length < max) drifts.push(d);
  };
  const scrubs = { subscriptions: new Set<string>(), accounts: new Set<string>() };
  for (const r of await o.readDb.db.selectFrom('rm_scrubs').select(['scope', 'id']).execute())
    (r.scope === 'account' ? scrubs.accounts : scrubs.subscriptions).add(r.id);
  const subscriptions = new Map<string, SubscriptionFold>();
  const accounts = new Map<string, AccountFold>();
  const receipts: PurgeReceiptsTable[] = [];
  const integration: IntegrationEventsTable[] = [];
  let events = 0;
  let auditRows = 0;
  let after: bigint | null = null;
  const total = Number(checkpoint ?? 0n);
  while (checkpoint !== null && (after === null || after < checkpoint)) {
    const batch: RecordedEvent[] = (
      await o.log.readAll({ ...(after === null ? {} : { after }), maxCount: o.batchSize ?? 5000 })
    ).filter((e) => e.position <= checkpoint);
    if (batch.length === 0) break;
    const from = after;
    const to: bigint = batch[batch.length - 1]!.position;
    // Audit rows of this slice of positions, merged with the events by position.
    let q = o.readDb.db
      .selectFrom('rm_audit_events')
      .selectAll()
      .where('position', '<=', o.readDb.pos(to));
    if (from !== null) q = q.where('position', '>', o.readDb.pos(from));
    const rows = new Map((await q.execute()).map((r) => [BigInt(r.position), r]));
    auditRows += rows.size;
    for (const stored of batch) {
      const row = rows.get(stored.position);
      const key = stored.position.toString();
      if (!row) drift({ kind: 'audit-row-missing', key });
      else {
        rows.delete(stored.position);
        const fields = differences(
          normalized({ ...auditRow(stored, scrubs, asText) }, ['data']),
          normalized({ ...row }, ['data']),
        );
        if (fields) drift({ kind: 'audit-row-different', key, fields });
      }
      const e = upcast(stored);
      const stream = projectedStream(e.streamId);
      if (stream?.kind === 'subscription') {
        const fold = subscriptions.get(stream.id) ?? emptySubscriptionFold();
        subscriptions.set(stream.id, fold);
        const side = foldSubscriptionEvent(fold, e, asText);
        if (side?.receipt) receipts.push(side.receipt);
        if (side?.integration) integration.push(side.integration);
      } else if (stream?.kind === 'account') {
        const fold = accounts.get(stream.id) ?? emptyAccountFold();
        accounts.set(stream.id, fold);
        const side = foldAccountEvent(fold, e, stream.id, asText);
        if (side?.integration) integration.push(side.integration);
      }
    }
    for (const position of rows.keys())
      drift({ kind: 'audit-row-extra', key: position.toString() });
    events += batch.length;
    after = to;
    o.onProgress?.({ done: Number(to), total });
  }
  // Audit rows past the last event checked but within the checkpoint: rows for no event.
  if (checkpoint !== null) {
    let extra = o.readDb.db
      .selectFrom('rm_audit_events')
      .select('position')
      .where('position', '<=', o.readDb.pos(checkpoint));
    if (after !== null) extra = extra.where('position', '>', o.readDb.pos(after));
    for (const r of await extra.execute()) {
      auditRows++;
      drift({ kind: 'audit-row-extra', key: String(r.position) });
    }
  }

  let skippedNewer = 0;
  const isNewer = (position: unknown): boolean =>
    checkpoint === null || BigInt(position as string | number) > checkpoint;

  const seenSubs = new Set<string>();
  for (const row of await o.readDb.db.selectFrom('rm_subscriptions').selectAll().execute()) {
    seenSubs.add(row.subscription_id);
    if (isNewer(row.position)) {
      skippedNewer++;
      continue;
    }
    const key = `subscription-${row.subscription_id}`;
    const fold = subscriptions.get(row.subscription_id);
    const expected = fold ? subscriptionRow(row.subscription_id, fold, asText) : null;
    if (!expected) {
      drift({ kind: 'subscription-row-orphan', key });
      continue;
    }
    const fields = differences(
      normalized({ ...expected }, ['state']),
      normalized({ ...row }, ['state']),
    );
    if (fields) drift({ kind: 'subscription-row-different', key, fields });
  }
  for (const [id, fold] of subscriptions)
    if (!seenSubs.has(id) && subscriptionRow(id, fold, asText))
      drift({ kind: 'subscription-row-missing', key: `subscription-${id}` });

  const seenAccounts = new Set<string>();
  for (const row of await o.readDb.db.selectFrom('rm_accounts').selectAll().execute()) {
    seenAccounts.add(row.account_id);
    if (isNewer(row.position)) {
      skippedNewer++;
      continue;
    }
    const key = `account-${row.account_id}`;
    const fold = accounts.get(row.account_id);
    if (!fold) {
      drift({ kind: 'account-row-orphan', key });
      continue;
    }
    const fields = differences(
      normalized({ ...accountRow(row.account_id, fold, asText) }, []),
      normalized({ ...row }, []),
    );
    if (fields) drift({ kind: 'account-row-different', key, fields });
  }
  for (const id of accounts.keys())
    if (!seenAccounts.has(id)) drift({ kind: 'account-row-missing', key: `account-${id}` });

  // D11: the receipts, in log order, each linked after the one before as the projector links.
  let head: ChainHead | null = null;
  const wantedReceipts = receipts.map((expected): Record<string, unknown> => {
    const want: Record<string, unknown> = { ...expected };
    if (!o.signer) {
      for (const column of CHAIN_COLUMNS) delete want[column];
      return want;
    }
    const link = linkReceipt(head, expected, o.signer);
    head = { sequence: link.sequence!, hash: link.receipt_hash! };
    return { ...want, ...link };
  });
  const upTo = checkpoint === null ? null : o.readDb.pos(checkpoint);
  const rowsUpToCheckpoint = async (
    table: 'rm_purge_receipts' | 'rm_integration_events',
  ): Promise<object[]> =>
    upTo === null
      ? []
      : o.readDb.db.selectFrom(table).selectAll().where('position', '<=', upTo).execute();
  compareByPosition(
    'receipt',
    wantedReceipts,
    await rowsUpToCheckpoint('rm_purge_receipts'),
    'receipt',
    drift,
  );
  // The integration events the feed and the webhooks serve, one per event that calls for one.
  compareByPosition(
    'integration',
    integration,
    await rowsUpToCheckpoint('rm_integration_events'),
    'body',
    drift,
  );

  return {
    checkpoint: checkpoint?.toString() ?? null,
    events,
    auditRows,
    subscriptions: seenSubs.size,
    accounts: seenAccounts.size,
    receipts: receipts.length,
    integrationEvents: integration.length,
    skippedNewer,
    driftCount,
    drifts,
    ok: driftCount === 0,
    durationMs: Date.now() - started,
  };
}
