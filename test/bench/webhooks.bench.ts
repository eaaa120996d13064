/**
 * npm run bench:webhooks [-- EVENTS]: integration events delivered as signed webhooks to 3
 * endpoints on a local receiver, next to a raw signed POST loop to the same receiver in the
 * same run (the calibration).
 *
 * The read database (SQLite, a fresh DATA_DIR) is filled through the real projection
 * (ReadModelProjection.apply) with events made by the real decider: per subscription a
 * registration, a cancellation and its withdrawal, so 3 integration events each. Three endpoints
 * for every type are created at position 0; then the real dispatcher (libs/webhooks: the
 * deliveries made from rm_integration_events, the standardwebhooks signature, fetch, the state
 * written per delivery) runs in this process until nothing is pending. The receiver is a
 * process of its own (a node:http server answering 204), so it does not share this event loop.
 * Prints the figures; the last line holds the ratio to the raw loop.
 */
import 'reflect-metadata';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import type { RecordedEvent } from '@app/event-store';
import { after, registered } from '../../libs/domain/src/testing/subscription.fixtures';
import {
  ReadDb,
  ReadModelProjection,
  READ_MODELS_PROJECTION,
  WebhookSender,
} from '@app/read-models';
import { WebhookDispatcher, webhookSettingsFromEnv, WebhookStore } from '@app/webhooks';
import { machine } from './support/bench-server';

const EVENTS = Number(process.argv[2] ?? process.env['BENCH_EVENTS'] ?? 100_000);
const ENDPOINTS = 3;
const SUBSCRIPTIONS = Math.ceil(EVENTS / 3);
const BATCH = 1000;

/** The receiver: a node:http server in a process of its own that answers every POST 204. */
async function startReceiver(): Promise<{ url: string; child: ChildProcess; stop(): void }> {
  const code = `
    const http = require('node:http');
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => { res.statusCode = 204; res.end(); });
    });
    server.keepAliveTimeout = 60000;
    server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
  `;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', () => reject(new Error('the receiver exited')));
  });
  return { url: `http://127.0.0.1:${port}/hooks`, child, stop: () => child.kill('SIGKILL') };
}

/** One subscription's events (registered, cancelled, withdrawn) made by the real decider. */
function template(): RecordedEvent[] {
  const now = '2026-02-10T09:00:00.000Z';
  const history = after(
    [registered({ subscriptionId: 'sub_T', accountId: 'acc_T' })],
    {
      type: 'RequestCancellation',
      data: {
        subscriptionId: 'sub_T',
        requestedBy: { actorId: 'usr_T', role: 'billing_admin' },
        channel: 'self_service',
        now,
      },
    },
    {
      type: 'WithdrawCancellation',
      data: {
        subscriptionId: 'sub_T',
        requestedBy: { actorId: 'usr_T', role: 'billing_admin' },
        channel: 'self_service',
        now,
      },
    },
  );
  return history.map((e, revision) => ({
    eventId: '',
    streamId: 'subscription-sub_T',
    revision,
    position: 0n,
    type: e.type,
    data: e.data,
    metadata: {
      correlationId: 'bench',
      causationId: null,
      commandId: null,
      actor: null,
      channel: 'self_service',
      recordedAt: now,
      schemaVersion: 1,
    },
  }));
}

async function fill(readDb: ReadDb): Promise<number> {
  const projection = new ReadModelProjection(readDb);
  const events = template();
  const json = JSON.stringify(events.map((e) => ({ ...e, position: undefined })));
  let position = 0n;
  let batch: RecordedEvent[] = [];
  for (let s = 0; s < SUBSCRIPTIONS; s++) {
    const copy = JSON.parse(
      json.replaceAll('sub_T', `sub_${s}`).replaceAll('acc_T', `acc_${s % 1000}`),
    ) as RecordedEvent[];
    for (const e of copy) {
      position += 1n;
      batch.push({ ...e, eventId: randomUUID(), position });
    }
    if (batch.length >= BATCH) {
      await projection.apply(batch, READ_MODELS_PROJECTION);
      batch = [];
    }
  }
  if (batch.length > 0) await projection.apply(batch, READ_MODELS_PROJECTION);
  const row = await readDb.db
    .selectFrom('rm_integration_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function databaseBytes(readDb: ReadDb): Promise<number> {
  const pages = await sql<{ page_count: number }>`pragma page_count`.execute(readDb.db);
  const size = await sql<{ page_size: number }>`pragma page_size`.execute(readDb.db);
  return pages.rows[0]!.page_count * size.rows[0]!.page_size;
}

/** The calibration: sign with standardwebhooks and POST, `lanes` at a time, no database. */
async function rawSignedPosts(url: string, count: number, lanes: number): Promise<number> {
  const key = randomBytes(32);
  const body = JSON.stringify({
    id: `evt_${randomUUID()}`,
    type: 'subscription.cancellation_withdrawn',
    occurredAt: '2026-03-01T09:00:00.000Z',
    position: '123456',
    accountId: 'acc_1',
    subscriptionId: 'sub_1',
    productId: 'goto-meeting',
    data: { channel: 'self_service', withdrawnAt: '2026-03-01T09:00:00.000Z' },
  });
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < count) {
        const id = `evt_${next++}`;
        const at = new Date();
        const signature = new Webhook(key, { format: 'raw' }).sign(id, at, body);
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
            'webhook-signature': signature,
          },
          body,
          redirect: 'manual',
        });
        await res.body?.cancel();
        if (res.status !== 204) throw new Error(`receiver answered ${res.status}`);
      }
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function main(): Promise<void> {
  const before = machine();
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-webhooks-'));
  const receiver = await startReceiver();
  const readDb = await ReadDb.open({ dataDir });
  const settings = webhookSettingsFromEnv(process.env);
  try {
    let t = process.hrtime.bigint();
    const events = await fill(readDb);
    const fillSeconds = Number(process.hrtime.bigint() - t) / 1e9;

    const store = new WebhookStore(readDb, undefined);
    for (let i = 0; i < ENDPOINTS; i++)
      await store.createEndpoint(
        { url: `${receiver.url}/${i}`, types: ['*'], description: `bench ${i}` },
        0n,
        new Date(),
      );
    const ids = await store.endpointIds();

    // The deliveries made first (what the dispatcher does as its first step), to weigh them.
    const bytesBefore = await databaseBytes(readDb);
    t = process.hrtime.bigint();
    for (const id of ids) while (((await store.materialize(id, new Date())) ?? 0) > 0);
    const materializeSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    const pending = (await store.pendingSummary()).count;
    const bytesPerDelivery = ((await databaseBytes(readDb)) - bytesBefore) / pending;

    const dispatcher = new WebhookDispatcher({
      store,
      sender: new WebhookSender({ timeoutMs: settings.timeoutMs }),
      settings,
      logger: pino({ level: 'warn' }),
    });
    t = process.hrtime.bigint();
    dispatcher.start();
    // Counting the pending deliveries scans them: once a second, so the count does not compete.
    while ((await store.pendingSummary()).count > 0) await new Promise((r) => setTimeout(r, 1000));
    const sendSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    await dispatcher.stop();
    const delivered = pending;
    const rate = delivered / (materializeSeconds + sendSeconds);

    const lanes = ENDPOINTS * settings.concurrency;
    const raw = await rawSignedPosts(receiver.url, Math.min(delivered, 60_000), lanes);

    console.log(
      [
        `bench:webhooks — ${new Date().toISOString().slice(0, 10)} — ${before}`,
        `${events.toLocaleString('en')} integration events projected in ${fillSeconds.toFixed(1)} s (SQLite read database); ${ENDPOINTS} endpoints for every type on one local receiver (its own process); WEBHOOK_CONCURRENCY ${settings.concurrency} per endpoint`,
        `deliveries made: ${delivered.toLocaleString('en')} in ${materializeSeconds.toFixed(1)} s; sent: in ${sendSeconds.toFixed(1)} s`,
        `database growth per pending delivery: ${Math.round(bytesPerDelivery)} bytes (Redis: none, deliveries live in the read database)`,
        `raw signed POST loop (standardwebhooks + fetch, ${lanes} at once, no database): ${Math.round(raw).toLocaleString('en')} posts/s`,
        `ratio: ${Math.round(rate).toLocaleString('en')} deliveries/s end to end / raw signed POST loop ${Math.round(raw).toLocaleString('en')}/s (same run) = ${(rate / raw).toFixed(2)} (our target ≥ 0.50) → ${rate / raw >= 0.5 ? 'met' : 'NOT met'}`,
      ].join('\n'),
    );
  } finally {
    await readDb.close();
    receiver.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
