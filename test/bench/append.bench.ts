/**
 * npm run bench:append [-- N [CONCURRENCY]]: cancellations per second through the CommandBus on
 * the embedded SQLite log (read stream, fold, decide, encrypt, append with expected revision),
 * next to the raw SQLite append ceiling measured in the same run on the same machine: the same
 * schema and pragmas (WAL, synchronous=FULL), one transaction per 2-event append, one at a time,
 * straight through better-sqlite3 with nothing else around it.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import Database from 'better-sqlite3';
import pino from 'pino';
import { ControlledClock, loadConfig } from '@app/platform';
import { AppModule } from '../../apps/api/src/app.module';
import { CancelSubscriptionCommand } from '../../apps/api/src/cancel-subscription/cancel-subscription.command';
import { RegisterSubscriptionCommand } from '../../apps/api/src/register-subscription/register-subscription.command';

const N = Number(process.argv[2] ?? process.env['BENCH_N'] ?? 5000);
const CONCURRENCY = Number(process.argv[3] ?? process.env['BENCH_CONCURRENCY'] ?? 64);
const ctx = () => ({
  commandId: null,
  requestHash: null,
  correlationId: randomUUID(),
  causationId: null,
  actor: { actorId: 'u', role: 'billing_admin' },
  channel: 'self_service',
});

async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

function rawCeiling(dir: string, count: number, label: string): number {
  const db = new Database(join(dir, `raw-${label}.sqlite`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('secure_delete = ON');
  db.exec(`CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, stream_id TEXT NOT NULL,
    revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, UNIQUE (stream_id, revision))`);
  const insert = db.prepare(
    'INSERT INTO events (event_id, stream_id, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const data = JSON.stringify({
    subscriptionId: 'sub',
    accountId: 'acc',
    requestedAt: '2026-02-10T09:00:00.000Z',
    refund: 'none',
  });
  const meta = JSON.stringify({
    correlationId: 'c',
    recordedAt: '2026-02-10T09:00:00.000Z',
    schemaVersion: 1,
  });
  const append = db.transaction((stream: string) => {
    insert.run(randomUUID(), stream, 1, 'CancellationRequested', data, meta);
    insert.run(randomUUID(), stream, 2, 'AutoRenewDisabled', data, meta);
  });
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) append.immediate(`subscription-raw-${i}`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return count / seconds;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-append-'));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dir, LOG_LEVEL: 'silent' });
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot({
      config,
      clock: new ControlledClock('2026-02-10T09:00:00.000Z'),
      logger: pino({ level: 'silent' }),
    }),
    { logger: false },
  );
  const bus = app.get(CommandBus);
  const ids = Array.from({ length: N }, (_, i) => `sub_${i}`);
  await pool(ids, CONCURRENCY, (id) =>
    bus.execute(
      new RegisterSubscriptionCommand(
        {
          subscriptionId: id,
          accountId: 'acc_1',
          productId: 'goto-meeting',
          plan: { kind: 'monthly' },
          termStart: '2026-01-31T00:00:00+01:00',
          timeZone: 'Europe/Rome',
          contract: false,
          autoRenew: true,
          outstandingBalance: null,
          assignedLicences: 0,
        },
        ctx(),
      ),
    ),
  );

  // The ceiling is measured before and after the bus run (fsync times drift on shared disks);
  // the ratio uses the better of the two, so it is never flattered.
  const ceilingBefore = rawCeiling(dir, Math.min(N, 5000), 'before');
  const started = process.hrtime.bigint();
  await pool(ids, CONCURRENCY, (id) =>
    bus.execute(
      new CancelSubscriptionCommand(
        id,
        { actorId: 'u', role: 'billing_admin' },
        'self_service',
        process.env['BENCH_NO_PD']
          ? null
          : { reason: 'unused' as const, comment: 'no longer needed' },
        null,
        ctx(),
      ),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const viaBus = N / seconds;
  await app.close();

  const ceilingAfter = rawCeiling(dir, Math.min(N, 5000), 'after');
  const ceiling = Math.max(ceilingBefore, ceilingAfter);
  rmSync(dir, { recursive: true, force: true });

  console.log(`bench:append — ${new Date().toISOString()}`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.log(
    `conditions: SQLite WAL, synchronous=FULL, secure_delete=ON; ${N} cancellations (2 events each, survey comment encrypted), ${CONCURRENCY} in flight, group commit on`,
  );
  console.log(
    `raw SQLite append ceiling (2-event transactions, one at a time): ${ceilingBefore.toFixed(0)} appends/s before, ${ceilingAfter.toFixed(0)} after`,
  );
  console.log(
    `cancellations through the CommandBus: ${viaBus.toFixed(0)} /s (${N} in ${seconds.toFixed(2)} s)`,
  );
  console.log(`ratio: ${((100 * viaBus) / ceiling).toFixed(0)} % of the ceiling (target ≥ 70 %)`);
}

void main();
