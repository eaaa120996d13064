import {
  type DataKey,
  decryptValue,
  ERASED,
  isEncryptedValue,
  type KeyStore,
  personalDataAad,
  type RecordedEvent,
  UNREADABLE,
} from '@app/event-store';
import type { AuditEventsTable, PurgeReceiptsTable } from '../database/read-db.schema';
import type { Upcast } from '../projection/read-model-projection';
import { type PurgeReceiptView, receiptOfRow } from '../receipts/receipt-chain';

/** The `AuditEvent` resource of docs/http-api.md. */
export interface AuditEvent {
  position: string;
  streamId: string;
  revision: number;
  type: string;
  recordedAt: string;
  subscriptionId: string | null;
  accountId: string | null;
  actor: { actorId: string; role: string } | null;
  channel: string | null;
  data: Record<string, unknown>;
  correlationId: string;
  causationId: string | null;
}

export interface AuditReaderOptions {
  keys: KeyStore;
  upcast?: Upcast;
  /** A field whose key exists but that does not decrypt (corruption, tampering). */
  onUnreadable?: (info: { position: string; path: string; keyId: string }) => void;
}

/**
 * Turns stored audit rows into AuditEvents. Rows hold the events as written, so personal fields
 * are decrypted here, on read, with the key store: while the key exists the auditor sees the
 * value, once it is shredded (purge, erasure) "[erased]" — exactly what the event log shows.
 * Keys are looked up once per page and never cached beyond it (a key shredded by another process
 * must stop decrypting at once).
 */
export class AuditReader {
  private readonly upcast: Upcast;

  constructor(private readonly o: AuditReaderOptions) {
    this.upcast = o.upcast ?? ((e) => e);
  }

  async toEvents(rows: readonly AuditEventsTable[]): Promise<AuditEvent[]> {
    const keys = new Map<string, DataKey | null>();
    const out: AuditEvent[] = [];
    // Synchronous but for the key lookups of rows with personal fields: an export reads 100,000
    // rows, and an await per row (and per field of a personal row) is a good part of its time.
    for (const row of rows) {
      let data = JSON.parse(row.data) as Record<string, unknown>;
      if (row.personal) {
        await this.fetchKeys(data, keys);
        data = this.decrypt(row, data, keys) as Record<string, unknown>;
      }
      out.push(this.toEvent(row, data));
    }
    return out;
  }

  private toEvent(row: AuditEventsTable, data: Record<string, unknown>): AuditEvent {
    const position = String(row.position);
    const actor =
      row.actor_id !== null ? { actorId: row.actor_id, role: row.actor_role ?? 'user' } : null;
    // Upcasters see the decrypted event (the stored one keeps the type its ciphertexts are bound to).
    const recorded: RecordedEvent = {
      eventId: row.event_id,
      streamId: row.stream_id,
      revision: row.revision,
      position: BigInt(position),
      type: row.type,
      data,
      metadata: {
        correlationId: row.correlation_id,
        causationId: row.causation_id,
        commandId: null,
        actor,
        channel: row.channel,
        recordedAt: row.recorded_at,
        schemaVersion: 1,
      },
    };
    const e = this.upcast(recorded);
    return {
      position,
      streamId: row.stream_id,
      revision: row.revision,
      type: e.type,
      recordedAt: row.recorded_at,
      subscriptionId: row.subscription_id,
      accountId: row.account_id,
      actor,
      channel: row.channel,
      data: e.data,
      correlationId: row.correlation_id,
      causationId: row.causation_id,
    };
  }

  /** Looks up, once per page, the key of every encrypted value in `node` not looked up yet. */
  private async fetchKeys(node: unknown, keys: Map<string, DataKey | null>): Promise<void> {
    if (isEncryptedValue(node)) {
      if (!keys.has(node.kid)) keys.set(node.kid, await this.o.keys.get(node.kid));
      return;
    }
    if (Array.isArray(node)) {
      for (const item of node) await this.fetchKeys(item, keys);
      return;
    }
    if (node !== null && typeof node === 'object')
      for (const v of Object.values(node as Record<string, unknown>)) await this.fetchKeys(v, keys);
  }

  /** `data` with every encrypted value decrypted (its key was fetched: see fetchKeys). */
  private decrypt(
    row: AuditEventsTable,
    data: unknown,
    keys: Map<string, DataKey | null>,
  ): unknown {
    const walk = (node: unknown, path: string): unknown => {
      if (isEncryptedValue(node)) {
        const key = keys.get(node.kid);
        if (!key) return ERASED;
        try {
          return decryptValue(key.key, personalDataAad(row.stream_id, row.type, path), node);
        } catch {
          this.o.onUnreadable?.({ position: String(row.position), path, keyId: node.kid });
          return UNREADABLE;
        }
      }
      if (Array.isArray(node)) return node.map((item) => walk(item, path));
      if (node !== null && typeof node === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(node as Record<string, unknown>))
          out[k] = walk(v, path === '' ? k : `${path}.${k}`);
        return out;
      }
      return node;
    };
    return walk(data, '');
  }
}

/** A linked receipt row as GET /v1/audit/purges shows it (signed; receipts/receipt-chain.ts). */
export function toPurgeReceiptView(row: PurgeReceiptsTable): PurgeReceiptView {
  const view = receiptOfRow(row);
  if (!view) throw new Error(`receipts: the receipt at position ${row.position} is not linked`);
  return view;
}
