/**
 * npm run bench:http [-- SEED]: cancellations per second over HTTP with p50/p99, next to a
 * trivial route of the same app in the same run (GET /health/live), and the latency of
 * cancellations at a fixed 1,000/s. SQLite event log with synchronous=FULL; autocannon runs in
 * this process, on the same machine. Two shapes (BENCH_SHAPE):
 * - `deployed` (default; deploy/k8s): an api process (`npm run start:api`, READ_MODEL_PROJECTOR=off:
 *   HTTP and the command path) and a worker process (`npm run start:worker`,
 *   READ_MODEL_PROJECTOR=on: scheduler, reconciler, BullMQ workers, read-model projector), one
 *   redis-server with AOF started here;
 * - `single` (`npm start`): one process running everything with its private redis-server.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

type Result = autocannon.Result;
import { DateTime } from 'luxon';
import { subscriptionDecider } from '@app/domain';
import { SqliteEventStore } from '@app/event-store';
import { startPrivateRedis } from '@app/platform';
import { LISTPACK_VALUE } from '@app/scheduling';
import {
  cpuSeconds,
  machine,
  machineBusySeconds,
  metric,
  startServer,
  startWorker,
  waitForMetric,
  waitUntilIdle,
} from './support/bench-server';
import { openLoop } from './support/open-loop';
import { registration } from '../support/fixtures';

// Every cancellation goes to a subscription not cancelled before while SEED lasts.
const SEED = Number(process.argv[2] ?? process.env['BENCH_SEED'] ?? 100_000);
const TOKEN = 'bench-token-all-scopes';
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const SHAPE = process.env['BENCH_SHAPE'] === 'single' ? 'single' : 'deployed';

/** Registers SEED subscriptions straight into the event log before the service starts. */
async function seed(dataDir: string): Promise<void> {
  const store = SqliteEventStore.open(join(dataDir, 'events.sqlite'));
  const now = DateTime.utc();
  const termStart = now.minus({ days: 3 }).toISO();
  const recordedAt = now.toISO();
  const one = async (i: number) => {
    const id = `bench_${i}`;
    const events = subscriptionDecider.decide(
      {
        type: 'RegisterSubscription',
        data: registration({
          subscriptionId: id,
          accountId: `acc_bench_${i % 1000}`,
          termStart,
          now: recordedAt,
        }),
      },
      subscriptionDecider.initialState(),
    );
    await store.appendToStream(
      `subscription-${id}`,
      events.map((e) => ({
        type: e.type,
        data: e.data,
        metadata: {
          correlationId: `seed-${i}`,
          causationId: null,
          commandId: null,
          actor: null,
          channel: 'system',
          recordedAt,
          schemaVersion: 1,
        },
      })),
      { expectedRevision: 'no_stream' },
    );
  };
  for (let i = 0; i < SEED; i += 256)
    await Promise.all(Array.from({ length: Math.min(256, SEED - i) }, (_, k) => one(i + k)));
  await store.close();
}

const ms = (v: number) => `${v.toFixed(1)} ms`;
function row(name: string, r: Result): string {
  const ok = r.statusCodeStats['200']?.count ?? 0;
  return `| ${name} | ${Math.round(ok / r.duration).toLocaleString('en')} /s | ${ms(r.latency.p50)} | ${ms(r.latency.p99)} | ${ms(r.latency.max)} | ${r.non2xx} | ${r.errors} |`;
}

async function main(): Promise<void> {
  const before = machine();
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-http-'));
  const t0 = Date.now();
  await seed(dataDir);
  const seeded = Date.now();
  const auth = {
    NODE_ENV: 'production',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
    AUTH_TOKENS: JSON.stringify({
      [TOKEN]: {
        service: 'bench',
        scopes: ['subscriptions:write', 'subscriptions:read', 'audit:read', 'ops'],
      },
    }),
  };
  const redis =
    SHAPE === 'deployed'
      ? await startPrivateRedis({
          dataDir: join(dataDir, 'redis'),
          persistence: 'aof',
          extraArgs: ['--hash-max-listpack-value', String(LISTPACK_VALUE)],
        })
      : null;
  const worker = redis
    ? startWorker({ ...auth, REDIS_URL: redis.url, READ_MODEL_PROJECTOR: 'on' })
    : null;
  const server = await startServer(
    redis ? { ...auth, REDIS_URL: redis.url, READ_MODEL_PROJECTOR: 'off' } : auth,
    redis ? ['--api-only'] : [],
  );
  try {
    // Let the projector (and the scheduler behind it) take in the seeded registrations first.
    if (process.env['READ_MODEL_PROJECTOR'] !== 'off')
      await waitForMetric(server.url, 'subscriptions_read_model_lag_positions', (v) => v === 0);
    // …and the scheduler has put every seeded subscription's term-end job into Redis.
    await waitForMetric(
      server.url,
      'subscriptions_lifecycle_scheduler_lag',
      (v) => v === undefined || v === 0,
    );
    // The scheduler and reconciler go on after the checkpoint: wait until the service is idle.
    await waitUntilIdle(server.child);
    if (worker) await waitUntilIdle(worker.child);
    const ready = Date.now();

    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    let next = 0;
    const cancellationBody = JSON.stringify({
      requestedBy: { actorId: 'usr_bench', role: 'billing_admin' },
      channel: 'self_service',
      survey: { reason: 'too_expensive' },
    });
    const cancellation = {
      method: 'POST',
      headers,
      requests: [
        {
          setupRequest: (req: { path?: string; method?: string; body?: string }) => ({
            ...req,
            method: 'POST',
            path: `/v1/subscriptions/bench_${next++ % SEED}/cancellation`,
            body: cancellationBody,
          }),
        },
      ],
    };
    await autocannon({ url: `${server.url}/health/live`, connections: 16, duration: 2 }); // warm-up
    const trivial = await autocannon({
      url: `${server.url}/health/live`,
      connections: 16,
      duration: DURATION,
    });
    const cpuBefore = [server.child, worker?.child].map((c) => (c ? cpuSeconds(c.pid!) : null));
    const loadGenBefore = process.cpuUsage();
    const redisBefore = redis ? cpuSeconds(redis.pid) : null;
    const machineBefore = machineBusySeconds();
    const max = await autocannon({
      url: server.url,
      connections: 64,
      duration: DURATION,
      ...cancellation,
    });
    const cancelledAtMax = next;
    const cpuAfter = [server.child, worker?.child].map((c) => (c ? cpuSeconds(c.pid!) : null));
    const loadGen = process.cpuUsage(loadGenBefore);
    const redisAfter = redis ? cpuSeconds(redis.pid) : null;
    const machineBusy = (machineBusySeconds() - machineBefore) / max.duration;
    const maxOk = max.statusCodeStats['200']?.count ?? 0;
    const cpuPer = (i: number) => {
      const a = cpuBefore[i];
      const b = cpuAfter[i];
      return a == null || b == null || maxOk === 0
        ? '?'
        : `${Math.round(((b - a) / maxOk) * 1e6)} µs (${((b - a) / max.duration).toFixed(2)} cores)`;
    };
    // At 1,000/s: open loop (one request due every millisecond, latency from its due instant),
    // then autocannon's overallRate for comparison (bursty: see open-loop.ts).
    await metric(server.url, 'subscriptions_nodejs_eventloop_lag_max_seconds'); // resets the window
    const paced = await openLoop(server.url, 1000, DURATION, () => ({
      method: 'POST',
      path: `/v1/subscriptions/bench_${next++ % SEED}/cancellation`,
      headers,
      body: cancellationBody,
    }));
    const lagMax = await metric(server.url, 'subscriptions_nodejs_eventloop_lag_max_seconds');
    const lagP99 = await metric(server.url, 'subscriptions_nodejs_eventloop_lag_p99_seconds');
    const bursty = await autocannon({
      url: server.url,
      connections: 32,
      duration: DURATION,
      overallRate: 1000,
      ...cancellation,
    });
    const written = await metric(
      server.url,
      'subscriptions_commands_total{type="RequestCancellation",outcome="written"}',
    );

    const lines = [
      `bench:http — ${new Date().toISOString().slice(0, 10)} — ${before}`,
      SHAPE === 'deployed'
        ? `service: deployed shape: api process (start:api, READ_MODEL_PROJECTOR=off) + worker process (start:worker: scheduler, reconciler, BullMQ workers, projector) + redis-server (AOF everysec); SQLite log, synchronous=FULL; LOG_LEVEL=${process.env['LOG_LEVEL'] ?? 'info'}; load generator: autocannon in the parent process, same machine.`
        : `service: npm start configuration in one process (API + projector + scheduler + workers + private redis-server); SQLite log, synchronous=FULL; LOG_LEVEL=${process.env['LOG_LEVEL'] ?? 'info'}; load generator: autocannon in the parent process, same machine.`,
      `seeded ${SEED.toLocaleString('en')} subscriptions in ${((seeded - t0) / 1000).toFixed(1)} s; service ready and caught up after ${((ready - seeded) / 1000).toFixed(1)} s`,
      '',
      '| run | rate (2xx) | p50 | p99 | max | non-2xx | errors |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      row(`GET /health/live (trivial route), 16 connections, ${DURATION} s`, trivial),
      row(`POST …/cancellation, 64 connections, as fast as it goes, ${DURATION} s`, max),
      `| POST …/cancellation at 1,000/s, open loop (constant arrival, latency from the due instant), ${DURATION} s | ${Math.round(paced.ok / paced.durationS).toLocaleString('en')} /s | ${ms(paced.p50)} | ${ms(paced.p99)} | ${ms(paced.max)} | ${paced.non2xx} | ${paced.errors} |`,
      row(
        `POST …/cancellation, autocannon overallRate 1,000/s (each second's quota sent at once), 32 connections, ${DURATION} s`,
        bursty,
      ),
      '',
      `api event loop during the open-loop run: lag p99 ${lagP99 === undefined ? '?' : ms(lagP99 * 1000)}, max ${lagMax === undefined ? '?' : ms(lagMax * 1000)}`,
      `CPU in the max run: load generator (autocannon) ${((loadGen.user + loadGen.system) / 1e6 / max.duration).toFixed(2)} cores; redis-server ${redisBefore != null && redisAfter != null ? ((redisAfter - redisBefore) / max.duration).toFixed(2) : '?'} cores; whole machine ${machineBusy.toFixed(2)} of ${cpus().length} cores busy (any other work included)`,
      `CPU per cancellation in the max run: ${SHAPE === 'deployed' ? `api process ${cpuPer(0)}, worker process ${cpuPer(1)}` : `service ${cpuPer(0)}`}`,
      `cancellations written (commands_total written): ${written?.toLocaleString('en') ?? '?'} (${cancelledAtMax.toLocaleString('en')} sent in the max run, ${next.toLocaleString('en')} in all${next > SEED ? `: more than the ${SEED.toLocaleString('en')} seeded, so some were repeats — raise BENCH_SEED` : ', each to a subscription not cancelled before'})`,
      `targets: ≥ 3,000 cancellations/s → ${Math.round((max.statusCodeStats['200']?.count ?? 0) / max.duration) >= 3000 ? 'met' : 'NOT met'}; p99 ≤ 25 ms at 1,000/s (open loop) → ${paced.p99 <= 25 ? 'met' : 'NOT met'}`,
      // Cancellations against the same app's trivial route, in this run.
      (() => {
        const ratio =
          maxOk / max.duration / ((trivial.statusCodeStats['200']?.count ?? 0) / trivial.duration);
        return `ratio: cancellations ${Math.round(maxOk / max.duration).toLocaleString('en')}/s / trivial route ${Math.round((trivial.statusCodeStats['200']?.count ?? 0) / trivial.duration).toLocaleString('en')} req/s = ${ratio.toFixed(2)} (target ≥ 0.35) → ${ratio >= 0.35 ? 'met' : 'NOT met'}`;
      })(),
    ];
    console.log(lines.join('\n'));
  } finally {
    await server.stop();
    await worker?.stop();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
