import {
  ACCOUNT_EVENT_TYPES,
  type AccountEvent,
  type AccountState,
  accountDecider,
  isRegistered,
  listingEntry,
  SUBSCRIPTION_EVENT_TYPES,
  type SubscriptionEvent,
  type SubscriptionState,
  subscriptionDecider,
} from '@app/domain';
import type { EventStore, RecordedEvent } from '@app/event-store';
import { type ReadDb, ReadStore, type Upcast } from '@app/read-models';

export type DriftKind =
  | 'audit-row-missing'
  | 'audit-row-extra'
  | 'audit-row-different'
  | 'subscription-row-missing'
  | 'subscription-row-orphan'
  | 'subscription-row-different'
  | 'account-row-missing'
  | 'account-row-orphan'
  | 'account-row-different';

export interface Drift {
  kind: DriftKind;
  /** Stream id (or position for audit rows). */
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
  batchSize?: number;
  maxDrifts?: number;
  onProgress?: (p: { done: number; total: number }) => void;
}

const SUBSCRIPTION_TYPES = new Set<string>(SUBSCRIPTION_EVENT_TYPES);
const ACCOUNT_TYPES = new Set<string>(ACCOUNT_EVENT_TYPES);

interface Folded<S> {
  state: S;
  revision: number;
  position: bigint;
}

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

/**
 * Compares every read-model row with the fold of its stream (the domain's evolve, independently of
 * the projection code): subscriptions and accounts field by field, audit rows one per event up
 * to the read models' checkpoint. Read-only.
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
  const subscriptions = new Map<string, Folded<SubscriptionState>>();
  const accounts = new Map<string, Folded<AccountState>>();
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
      .select(['position', 'event_id', 'stream_id', 'revision', 'type'])
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
        const fields: Drift['fields'] = {};
        const expect = {
          event_id: stored.eventId,
          stream_id: stored.streamId,
          revision: stored.revision,
          type: stored.type,
        };
        for (const [k, v] of Object.entries(expect))
          if (String(row[k as keyof typeof row]) !== String(v))
            fields[k] = { expected: v, actual: row[k as keyof typeof row] };
        if (Object.keys(fields).length > 0) drift({ kind: 'audit-row-different', key, fields });
      }
      const e = upcast(stored);
      if (e.streamId.startsWith('subscription-')) {
        const id = e.streamId.slice('subscription-'.length);
        const f = subscriptions.get(id) ?? {
          state: subscriptionDecider.initialState(),
          revision: -1,
          position: 0n,
        };
        if (SUBSCRIPTION_TYPES.has(e.type))
          f.state = subscriptionDecider.evolve(f.state, {
            type: e.type,
            data: e.data,
          } as unknown as SubscriptionEvent);
        f.revision = e.revision;
        f.position = e.position;
        subscriptions.set(id, f);
      } else if (e.streamId.startsWith('account-')) {
        const id = e.streamId.slice('account-'.length);
        const f = accounts.get(id) ?? {
          state: accountDecider.initialState(),
          revision: -1,
          position: 0n,
        };
        if (ACCOUNT_TYPES.has(e.type))
          f.state = accountDecider.evolve(f.state, {
            type: e.type,
            data: e.data,
          } as unknown as AccountEvent);
        f.revision = e.revision;
        f.position = e.position;
        accounts.set(id, f);
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
    if (isNewer(row.position)) {
      skippedNewer++;
      seenSubs.add(row.subscription_id);
      continue;
    }
    seenSubs.add(row.subscription_id);
    const key = `subscription-${row.subscription_id}`;
    const f = subscriptions.get(row.subscription_id);
    if (!f || !isRegistered(f.state)) {
      drift({ kind: 'subscription-row-orphan', key });
      continue;
    }
    const s = f.state;
    const expected: Record<string, unknown> = {
      account_id: s.accountId,
      product_id: s.productId,
      status: s.status,
      section: listingEntry(s).section,
      contract: s.contract ? 1 : 0,
      revision: f.revision,
      position: f.position.toString(),
      expires_at: s.expiresAt,
      purge_at: 'purgeAt' in s ? s.purgeAt : null,
      purged_at: s.status === 'purged' ? s.purgedAt : null,
      state: canonical(s),
    };
    const actual: Record<string, unknown> = {
      ...row,
      position: String(row.position),
      contract: Number(row.contract),
      state: canonical(JSON.parse(row.state)),
    };
    const fields: Drift['fields'] = {};
    for (const [k, v] of Object.entries(expected))
      if (canonical(v ?? null) !== canonical(actual[k] ?? null))
        fields[k] = {
          expected: k === 'state' ? JSON.parse(v as string) : v,
          actual: k === 'state' ? JSON.parse(actual[k] as string) : actual[k],
        };
    if (Object.keys(fields).length > 0) drift({ kind: 'subscription-row-different', key, fields });
  }
  for (const [id, f] of subscriptions)
    if (isRegistered(f.state) && !seenSubs.has(id))
      drift({ kind: 'subscription-row-missing', key: `subscription-${id}` });

  const seenAccounts = new Set<string>();
  for (const row of await o.readDb.db.selectFrom('rm_accounts').selectAll().execute()) {
    seenAccounts.add(row.account_id);
    if (isNewer(row.position)) {
      skippedNewer++;
      continue;
    }
    const key = `account-${row.account_id}`;
    const f = accounts.get(row.account_id);
    if (!f) {
      drift({ kind: 'account-row-orphan', key });
      continue;
    }
    const expected: Record<string, unknown> = {
      revision: f.revision,
      position: f.position.toString(),
      legal_hold: f.state.legalHold ? 1 : 0,
      hold_id: f.state.legalHold?.holdId ?? null,
      last_erased_at: f.state.lastErasedAt,
    };
    const fields: Drift['fields'] = {};
    for (const [k, v] of Object.entries(expected)) {
      const a = row[k as keyof typeof row];
      const actual = k === 'position' || k === 'legal_hold' ? String(a) : a;
      if (canonical(k === 'legal_hold' ? String(v) : (v ?? null)) !== canonical(actual ?? null))
        fields[k] = { expected: v, actual: a };
    }
    if (Object.keys(fields).length > 0) drift({ kind: 'account-row-different', key, fields });
  }
  for (const id of accounts.keys())
    if (!seenAccounts.has(id)) drift({ kind: 'account-row-missing', key: `account-${id}` });

  return {
    checkpoint: checkpoint?.toString() ?? null,
    events,
    auditRows,
    subscriptions: seenSubs.size,
    accounts: seenAccounts.size,
    skippedNewer,
    driftCount,
    drifts,
    ok: driftCount === 0,
    durationMs: Date.now() - started,
  };
}
