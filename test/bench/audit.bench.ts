/**
 * npm run bench:audit [-- EVENTS]: p50/p99 of filtered audit pages (GET /v1/audit/events, limit
 * 100) over 1,000,000 events, through HTTP on the real service.
 *
 * The read database is filled through the real projection code (ReadModelProjection.apply, in
 * batches, the projector's own path) from synthetic but well-formed events: 20,000 subscriptions
 * in 2,000 accounts, 500 actors, a year of recordedAt, and support cancellations whose personal
 * fields are really encrypted under keys in the service's key store (so pages pay for
 * decryption). The service then starts on that DATA_DIR (`npm start` configuration) and every
 * query kind is timed sequentially, one request at a time, from this process.
 * BENCH_READ_DB_URL='postgres://…/db?schema=bench_audit' runs the same on PostgreSQL (the schema
 * is created and dropped).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encryptValue,
  personalDataAad,
  type RecordedEvent,
  SqliteKeyStore,
} from '@app/event-store';
import { Client } from 'pg';
import { ReadDb, ReadModelProjection, READ_MODELS_PROJECTION } from '@app/read-models';
import { machine, startServer } from './support/bench-server';
import { percentile } from './support/percentile';

const EVENTS = Number(process.argv[2] ?? process.env['BENCH_EVENTS'] ?? 1_000_000);
const SUBSCRIPTIONS = 20_000;
const ACCOUNTS = 2_000;
const ACTORS = 500;
const PER = EVENTS / SUBSCRIPTIONS;
const YEAR_MS = 365 * 86_400_000;
const START = Date.parse('2026-01-01T00:00:00.000Z');
const TOKEN = 'bench-token-audit';
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 200);
const READ_DB_URL = process.env['BENCH_READ_DB_URL'];

/** Event k of subscription s: registered, then cycles of cancel / withdraw and some refusals. */
function event(s: number, k: number, position: bigint, key: Buffer | null): RecordedEvent {
  const subscriptionId = `sub_${s}`;
  const accountId = `acc_${s % ACCOUNTS}`;
  const streamId = `subscription-${subscriptionId}`;
  const ids = { subscriptionId, accountId };
  const actor = { actorId: `usr_${(s * 7 + k) % ACTORS}`, role: 'billing_admin' };
  const at = new Date(START + Math.floor((Number(position) / EVENTS) * YEAR_MS)).toISOString();
  let type: string;
  let data: Record<string, unknown>;
  if (k === 0) {
    type = 'SubscriptionRegistered';
    data = {
      ...ids,
      productId: 'goto-meeting',
      plan: { kind: 'monthly' },
      contract: false,
      timeZone: 'Europe/Rome',
      anchor: '2026-01-01T00:00:00.000Z',
      termIndex: 0,
      currentTerm: { start: '2026-01-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
      autoRenew: true,
      outstandingBalance: null,
      assignedLicences: 5,
      registeredAt: at,
    };
  } else {
    const phase = (k - 1) % 5;
    type = [
      'CancellationRefused',
      'CancellationRequested',
      'AutoRenewDisabled',
      'CancellationWithdrawn',
      'AutoRenewEnabled',
    ][phase]!;
    data = { ...ids };
    if (type === 'CancellationRefused')
      data = {
        ...ids,
        code: 'FORBIDDEN_ROLE',
        rule: 'R4',
        message: 'Only a billing admin may cancel.',
        requestedBy: { actorId: actor.actorId, role: 'user' },
        channel: 'self_service',
        refusedAt: at,
        policyVersion: 'cancellation-policy/1',
      };
    if (type === 'CancellationRequested') {
      const personal = (path: string, v: string) =>
        key ? encryptValue(key, `key-${streamId}`, personalDataAad(streamId, type, path), v) : v;
      data = {
        ...ids,
        productId: 'goto-meeting',
        requestedBy: actor,
        channel: key ? 'support' : 'self_service',
        requestedAt: at,
        effectiveAt: '2027-01-01T00:00:00.000Z',
        expiresAt: '2027-01-01T00:00:00.000Z',
        purgeAt: '2027-04-01T00:00:00.000Z',
        renewalDate: '2027-01-01T00:00:00.000Z',
        noticeDeadline: null,
        noticeDeadlineMissed: false,
        refund: 'none',
        policyVersion: 'cancellation-policy/1',
        verifiedProducts: key ? ['goto-meeting'] : null,
        verification: key
          ? {
              billingAdminEmail: personal(
                'verification.billingAdminEmail',
                `admin${s}@example.org`,
              ),
              paymentLast4: personal('verification.paymentLast4', '4242'),
              billingAddress: personal('verification.billingAddress', `${s} Main Street`),
            }
          : null,
        survey: { reason: 'too_expensive' },
      };
    }
    if (type === 'AutoRenewDisabled')
      data = { ...ids, disabledAt: at, reason: 'cancellation_requested' };
    if (type === 'CancellationWithdrawn')
      data = {
        ...ids,
        requestedBy: actor,
        channel: 'self_service',
        withdrawnAt: at,
        expiresAtDropped: '2027-01-01T00:00:00.000Z',
        purgeAtDropped: '2027-04-01T00:00:00.000Z',
      };
    if (type === 'AutoRenewEnabled')
      data = { ...ids, enabledAt: at, reason: 'cancellation_withdrawn' };
  }
  return {
    eventId: randomUUID(),
    streamId,
    revision: k,
    position,
    type,
    data,
    metadata: {
      correlationId: randomUUID(),
      causationId: null,
      commandId: null,
      actor: k === 0 ? null : actor,
      channel: k === 0 ? 'system' : 'self_service',
      recordedAt: at,
      schemaVersion: 1,
    },
  };
}

async function seed(dataDir: string): Promise<{ seconds: number }> {
  const keys = SqliteKeyStore.open(join(dataDir, 'keys.sqlite'));
  const keyOf = new Map<number, Buffer>();
  // Support cancellations with encrypted personal data for one subscription in ten.
  for (let s = 0; s < SUBSCRIPTIONS; s += 10)
    keyOf.set(s, (await keys.getOrCreate(`key-subscription-sub_${s}`, `acc_${s % ACCOUNTS}`)).key);
  await keys.close();
  const readDb = await ReadDb.open({ dataDir, readDbUrl: READ_DB_URL });
  const projection = new ReadModelProjection(readDb);
  const started = Date.now();
  // Interleaved like a live log: round k of every subscription, then round k + 1.
  let position = 0n;
  let batch: RecordedEvent[] = [];
  for (let k = 0; k < PER; k++)
    for (let s = 0; s < SUBSCRIPTIONS; s++) {
      batch.push(event(s, k, ++position, keyOf.get(s) ?? null));
      if (batch.length === 5000) {
        await projection.apply(batch, READ_MODELS_PROJECTION);
        batch = [];
        if (position % 200_000n === 0n) process.stderr.write(`  projected ${position} events\n`);
      }
    }
  if (batch.length) await projection.apply(batch, READ_MODELS_PROJECTION);
  await readDb.close();
  return { seconds: (Date.now() - started) / 1000 };
}

/** The bench's PostgreSQL schema (`?schema=` of BENCH_READ_DB_URL) is dropped at the end. */
async function dropSchema(url: string): Promise<void> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  if (!schema || schema === 'public') return;
  parsed.searchParams.delete('schema');
  const client = new Client({ connectionString: parsed.toString() });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}

async function main(): Promise<void> {
  const before = machine();
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
  const { seconds } = await seed(dataDir);
  const server = await startServer({
    NODE_ENV: 'production',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...(READ_DB_URL ? { READ_DB_URL } : {}),
    AUTH_TOKENS: JSON.stringify({ [TOKEN]: { service: 'bench', scopes: ['audit:read'] } }),
  });
  const rnd = (n: number) => Math.floor(Math.random() * n);
  const cursor = (p: number) =>
    Buffer.from(JSON.stringify({ v: 1, k: 'audit-events', p: String(p) })).toString('base64url');
  const at = (fraction: number) => new Date(START + fraction * YEAR_MS).toISOString();
  const kinds: [string, () => string][] = [
    ['no filter, first page', () => ''],
    ['no filter, deep cursor', () => `cursor=${cursor(rnd(EVENTS))}`],
    ['accountId', () => `accountId=acc_${rnd(ACCOUNTS)}`],
    [
      'accountId, deep cursor',
      () => `accountId=acc_${rnd(ACCOUNTS)}&cursor=${cursor(rnd(EVENTS))}`,
    ],
    ['subscriptionId', () => `subscriptionId=sub_${rnd(SUBSCRIPTIONS)}`],
    ['actorId', () => `actorId=usr_${rnd(ACTORS)}`],
    ['type (1 of 6 types)', () => 'type=CancellationWithdrawn&cursor=' + cursor(rnd(EVENTS))],
    [
      'type × 2',
      () => 'type=CancellationRefused&type=AutoRenewEnabled&cursor=' + cursor(rnd(EVENTS)),
    ],
    ['accountId + type', () => `accountId=acc_${rnd(ACCOUNTS)}&type=CancellationRequested`],
    [
      'from/to, one hour',
      () => {
        const f = Math.random() * 0.99;
        return `from=${at(f)}&to=${at(f + 1 / (365 * 24))}`;
      },
    ],
    [
      'from/to, one month',
      () => {
        const f = Math.random() * 0.9;
        return `from=${at(f)}&to=${at(f + 1 / 12)}`;
      },
    ],
    [
      'accountId + from/to (a quarter)',
      () => {
        const f = Math.random() * 0.7;
        return `accountId=acc_${rnd(ACCOUNTS)}&from=${at(f)}&to=${at(f + 0.25)}`;
      },
    ],
  ];
  const rows: string[] = [];
  const all: number[] = [];
  const headers = { authorization: `Bearer ${TOKEN}` };
  let exported: { lines: number; bytes: number; ms: number };
  try {
    for (let i = 0; i < 50; i++)
      await (
        await fetch(`${server.url}/v1/audit/events?accountId=acc_${i}`, { headers })
      ).arrayBuffer(); // warm-up
    for (const [name, query] of kinds) {
      const times: number[] = [];
      let items = 0;
      for (let i = 0; i < SAMPLES; i++) {
        const t = process.hrtime.bigint();
        const res = await fetch(`${server.url}/v1/audit/events?limit=100&${query()}`, { headers });
        const body = (await res.json()) as { items: unknown[] };
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (res.status !== 200) throw new Error(`${name}: ${res.status} ${JSON.stringify(body)}`);
        items += body.items.length;
      }
      times.sort((a, b) => a - b);
      all.push(...times);
      rows.push(
        `| ${name} | ${(items / SAMPLES).toFixed(0)} | ${percentile(times, 0.5).toFixed(1)} ms | ${percentile(times, 0.99).toFixed(1)} ms |`,
      );
    }
    exported = await exportAll(server.url, headers);
  } finally {
    await server.stop();
  }
  let raw: { rows: number; bytes: number; ms: number };
  try {
    raw = await rawReadAndSerialize(dataDir);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    if (READ_DB_URL) await dropSchema(READ_DB_URL);
  }
  all.sort((a, b) => a - b);
  const exportRate = (exported.lines / exported.ms) * 1000;
  const rawRate = (raw.rows / raw.ms) * 1000;
  const exportRatio = exportRate / rawRate;
  console.log(
    [
      `bench:audit — ${new Date().toISOString().slice(0, 10)} — ${before}`,
      `read store: ${READ_DB_URL ? 'PostgreSQL' : 'SQLite (DATA_DIR/read-models.sqlite)'}; ${EVENTS.toLocaleString('en')} events projected in ${seconds.toFixed(1)} s (${Math.round(EVENTS / seconds).toLocaleString('en')} events/s through ReadModelProjection); ${SAMPLES} sequential requests per kind over HTTP (limit=100), service in its own process`,
      '',
      '| query | items/page | p50 | p99 |',
      '| --- | --- | --- | --- |',
      ...rows,
      `| **all kinds** | | **${percentile(all, 0.5).toFixed(1)} ms** | **${percentile(all, 0.99).toFixed(1)} ms** |`,
      '',
      `target p99 ≤ 50 ms → ${percentile(all, 0.99) <= 50 ? 'met' : 'NOT met'}`,
      `NDJSON export of every event (GET /v1/audit/events?format=ndjson, personal fields decrypted): ${exported.lines.toLocaleString('en')} lines, ${(exported.bytes / 2 ** 20).toFixed(1)} MiB in ${(exported.ms / 1000).toFixed(2)} s = ${Math.round(exportRate).toLocaleString('en')} events/s`,
      `raw read-and-serialize of the same rows (keyset pages of 5,000 through Kysely, JSON.stringify per row, in this process): ${raw.rows.toLocaleString('en')} rows, ${(raw.bytes / 2 ** 20).toFixed(1)} MiB in ${(raw.ms / 1000).toFixed(2)} s = ${Math.round(rawRate).toLocaleString('en')} rows/s`,
      `ratio: NDJSON export ${Math.round(exportRate).toLocaleString('en')} / raw read-and-serialize ${Math.round(rawRate).toLocaleString('en')} events/s = ${exportRatio.toFixed(2)} (target ≥ 0.50) → ${exportRatio >= 0.5 ? 'met' : 'NOT met'}`,
    ].join('\n'),
  );
}

/** The whole audit log as NDJSON over HTTP: lines, bytes and time to the last byte. */
async function exportAll(
  url: string,
  headers: Record<string, string>,
): Promise<{ lines: number; bytes: number; ms: number }> {
  const t = process.hrtime.bigint();
  const res = await fetch(`${url}/v1/audit/events?format=ndjson`, { headers });
  if (res.status !== 200 || !res.body) throw new Error(`export: ${res.status}`);
  let lines = 0;
  let bytes = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines++;
  }
  return { lines, bytes, ms: Number(process.hrtime.bigint() - t) / 1e6 };
}

/** The calibration: the same rows read in keyset pages and serialised, nothing else. */
async function rawReadAndSerialize(
  dataDir: string,
): Promise<{ rows: number; bytes: number; ms: number }> {
  const readDb = await ReadDb.open({ dataDir, ...(READ_DB_URL ? { readDbUrl: READ_DB_URL } : {}) });
  try {
    const t = process.hrtime.bigint();
    let rows = 0;
    let bytes = 0;
    let after: bigint | null = null;
    for (;;) {
      let q = readDb.db.selectFrom('rm_audit_events').selectAll();
      if (after !== null) q = q.where('position', '>', readDb.pos(after));
      const page = await q.orderBy('position', 'asc').limit(5000).execute();
      for (const row of page) bytes += JSON.stringify(row).length + 1;
      rows += page.length;
      if (page.length < 5000) break;
      after = BigInt(page[page.length - 1]!.position);
    }
    return { rows, bytes, ms: Number(process.hrtime.bigint() - t) / 1e6 };
  } finally {
    await readDb.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
