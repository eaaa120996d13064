/**
 * npm run bench:purge [-- N]: purges per second through the real purge process (SQLite event log
 * with synchronous=FULL, key store, local data holder writing and shredding real files), after N
 * subscriptions were registered, cancelled and expired. Prints the figures and the conditions.
 */
import 'reflect-metadata';
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { subscriptionDecider, subscriptionStreamId } from '@app/domain';
import { CommandRunner, InfrastructureModule } from '@app/infrastructure';
import { ControlledClock, loadConfig } from '@app/platform';
import { LocalProductDataStore, PurgeModule, PurgeProcess } from '@app/purge';
import { registration } from '../support/fixtures';

const N = Number(process.argv[2] ?? process.env['BENCH_N'] ?? 2000);
const dataDir = mkdtempSync(join(tmpdir(), 'bench-purge-'));
const clock = new ControlledClock('2026-02-10T09:00:00.000Z');
const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });

@Module({
  imports: [
    InfrastructureModule.forRoot({ config, clock, logger: pino({ level: 'silent' }) }),
    PurgeModule,
  ],
})
class BenchModule {}

const ctx = {
  commandId: null,
  requestHash: null,
  correlationId: 'bench',
  causationId: null,
  actor: null,
  channel: 'system',
};

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  const runner = app.get(CommandRunner);
  const local = app.get(LocalProductDataStore);
  const ids = Array.from({ length: N }, (_, i) => `sub_b${i}`);
  for (const id of ids) {
    const stream = subscriptionStreamId(id);
    await runner.run(
      stream,
      subscriptionDecider,
      {
        type: 'RegisterSubscription',
        data: registration({ subscriptionId: id, accountId: `acc_${id}`, now: runner.now() }),
      },
      ctx,
    );
    local.seed(id, `acc_${id}`, 'goto-meeting');
    await runner.run(
      stream,
      subscriptionDecider,
      {
        type: 'RequestCancellation',
        data: {
          subscriptionId: id,
          requestedBy: { actorId: 'u', role: 'billing_admin' },
          channel: 'support',
          verification: {
            billingAdminEmail: `${id}@example.com`,
            paymentLast4: '4242',
            billingAddress: 'Via Roma 1',
          },
          now: runner.now(),
        },
      },
      ctx,
    );
  }
  await clock.advanceTo('2026-02-28T00:00:00.000Z');
  for (const id of ids)
    await runner.run(
      subscriptionStreamId(id),
      subscriptionDecider,
      { type: 'ProcessTermEnd', data: { subscriptionId: id, now: runner.now() } },
      ctx,
    );
  await clock.advanceTo('2026-06-01T00:00:00.000Z');

  const purge = app.get(PurgeProcess);
  const started = process.hrtime.bigint();
  let purged = 0;
  for (const id of ids) if ((await purge.run(id, ctx)).status === 'purged') purged++;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });

  console.log(`bench:purge — ${new Date().toISOString()}`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.log(
    'conditions: SQLite event log (WAL, synchronous=FULL), SQLite key store, local holder (3 files per subscription, zero-overwrite + fsync + unlink), one purge at a time',
  );
  console.log(
    `purged ${purged}/${N} subscriptions in ${seconds.toFixed(2)} s → ${(purged / seconds).toFixed(1)} purges/s`,
  );
  if (purged !== N) process.exitCode = 1;
}

void main();
