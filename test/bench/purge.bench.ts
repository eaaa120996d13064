/**
 * npm run bench:purge [-- N]   (or BENCH_N=…; default 20,000)
 *
 * A purge burst in the production shape: N expired subscriptions whose purges all fall due at the
 * same instant, run by BENCH_WORKERS worker processes (default 2, as deploy/k8s runs them; the
 * real apps/worker/src/main.ts) on the shared stores: the PostgreSQL event log (EVENTSTORE_URL)
 * and the PostgreSQL read store (READ_DB_URL: read models, receipts, keys, schedule, leases) in
 * fresh schemas, a private redis-server with AOF, NODE_ENV=production, each process its own
 * DATA_DIR (support/production-shape.ts, shared with bench:month-end's postgres mode). The
 * workers are started alike: the scheduler (which puts the N purge jobs into Redis from the log)
 * and the read-model projector (which links and signs the receipts) run in whichever holds their
 * lease, the purge jobs in all. Their clock is the real one shifted so that BullMQ's real delays
 * fire the jobs at the due instant.
 *
 * Each subscription is seeded through the store the app's commands write through, with the
 * events the real decider makes: registered, cancelled through support (personal data: a key of
 * its own to shred), expired at its term end, both purge notices issued (D7), so the scheduler
 * finds exactly one job to schedule: its purge.
 *
 * The data holder: one HTTP holder for every product (DATA_HOLDERS), served by this process on a
 * real HTTP server (test/integration/purge/fake-holder-server.ts: checks each request's HMAC
 * signature, answers the purge receipt and `POST <url>/verify`). Not the local holder: it keeps
 * the product data on the process's own disk (DATA_DIR), which the production shape does not
 * have (any worker may run any purge, and a replaced pod takes its disk with it), and its deletion
 * cost is file I/O, not the round trips the verification adds in production.
 *
 * Measured from the due instant until every subscription has its ProductDataPurged in the log AND
 * its receipt is in the read model, linked and signed (rm_purge_receipts.sequence not null):
 * purges/s. Then the same burst without the proof (D11), on fresh schemas and a fresh Redis in the
 * same run, with the same NODE_ENV: the worker processes preload support/purge-without-proof.js,
 * which answers the holders' verify step without asking and projects the receipts without linking
 * or signing them (the end is then: every receipt projected). The product has no setting to turn
 * the proof off, and gets none for a benchmark: the domain refuses to complete an unverified
 * purge, so such a setting would have had to write verifications nobody made into the log. What
 * the preload leaves: the VerifyPurge append (PurgeVerified), which the domain requires, so the
 * ratio charges the proof with its round trip and its signing, not with that append.
 * BENCH_PHASES=with|without runs one phase only (no ratio then).
 *
 * The calibration is the burst without the proof; the raw BullMQ no-op rate on the same Redis
 * (as bench:month-end measures it) is printed beside it, to compare the purge rate with the
 * expiry rate. The last line is the ratio with/without against its target (docs/performance.md).
 *
 * BENCH_SHAPE=sequential runs the earlier measure instead: purges one at a time in this process
 * on the embedded SQLite shape with the local holder (no calibration).
 */
import 'reflect-metadata';
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue } from 'bullmq';
import { type Client } from 'pg';
import pino from 'pino';
import {
  fold,
  plannedPurgeNotices,
  type SubscriptionCommand,
  subscriptionDecider,
  type SubscriptionEvent,
  subscriptionStreamId,
  type SubscriptionState,
} from '@app/domain';
import { CommandRunner, InfrastructureModule } from '@app/infrastructure';
import { ControlledClock, createRedisConnection, loadConfig } from '@app/platform';
import { LocalProductDataStore, PurgeModule, PurgeProcess } from '@app/purge';
import { LIFECYCLE_QUEUES } from '@app/scheduling';
import { HolderServer } from '../integration/purge/fake-holder-server';
import { registration } from '../support/fixtures';
import { cpuSeconds, machine, machineBusySeconds } from './support/bench-server';
import {
  clockOffset,
  connect,
  dropSchemas,
  filesUnder,
  freePorts,
  hasExited,
  metricSamples,
  noopRate,
  postgresCpu,
  postgresCpuBetween,
  postgresEventCounter,
  postgresShape,
  type PostgresShape,
  rate,
  removeDir,
  rolesOf,
  secs,
  seedThroughStore,
  sleep,
  spawnShapeWorker,
  startBenchRedis,
  stopWorkers,
  sumByLabel,
  teardown,
} from './support/production-shape';

const SHAPE = process.env['BENCH_SHAPE']?.trim() || 'burst';
const N = Number(
  process.argv[2] ?? process.env['BENCH_N'] ?? (SHAPE === 'sequential' ? 2000 : 20_000),
);
const WORKERS = Math.max(1, Number(process.env['BENCH_WORKERS'] ?? 2));
const NOOP_JOBS = Number(process.env['BENCH_NOOP_JOBS'] ?? Math.min(N, 50_000));
const PHASES = (process.env['BENCH_PHASES']?.trim() || 'with,without')
  .split(',')
  .map((p) => p.trim()) as ('with' | 'without')[];
if (PHASES.some((p) => p !== 'with' && p !== 'without'))
  throw new Error('BENCH_PHASES lists with and/or without');
/** The ratio with/without proof the burst must reach (docs/performance.md says why). */
const TARGET = 0.8;

// ---- the seeded subscriptions: the real decider's events, made once and renamed per stream ----

const TERM_START = '2026-12-01T00:00:00+01:00';
const SEEDED_AT = '2026-12-15T12:00:00.000Z';
/** The month end in Rome: the subscriptions expire here; their purge is 90 days later. */
const TERM_END = '2026-12-31T23:00:00.000Z';

interface Decided {
  event: SubscriptionEvent;
  at: string;
}

/** One subscription's life up to its purge, as the decider makes it (subscription `x`). */
function lifeUntilPurge(): { events: Decided[]; purgeAt: string } {
  const events: Decided[] = [];
  let state: SubscriptionState = subscriptionDecider.initialState();
  const run = (command: SubscriptionCommand, at: string) => {
    const made = subscriptionDecider.decide(command, state);
    for (const event of made) events.push({ event, at });
    state = fold(subscriptionDecider, [...events.map((e) => e.event)] as never);
  };
  const subscriptionId = 'x';
  run(
    {
      type: 'RegisterSubscription',
      data: registration({
        subscriptionId,
        accountId: 'acc',
        termStart: TERM_START,
        now: SEEDED_AT,
      }),
    },
    SEEDED_AT,
  );
  run(
    {
      type: 'RequestCancellation',
      data: {
        subscriptionId,
        requestedBy: { actorId: 'u', role: 'billing_admin' },
        channel: 'support',
        verification: {
          billingAdminEmail: 'admin@example.com',
          paymentLast4: '4242',
          billingAddress: 'Via Roma 1',
        },
        now: SEEDED_AT,
      },
    },
    SEEDED_AT,
  );
  run({ type: 'ProcessTermEnd', data: { subscriptionId, now: TERM_END } }, TERM_END);
  for (const notice of plannedPurgeNotices(state, [30, 7]))
    run(
      {
        type: 'IssuePurgeNotice',
        data: { subscriptionId, daysBefore: notice.daysBefore, now: notice.noticeAt },
      },
      notice.noticeAt,
    );
  if (state.status !== 'expired') throw new Error(`seed: the template is ${state.status}`);
  const last = events[events.length - 1]!.event.type;
  if (last !== 'PurgeNoticeIssued') throw new Error(`seed: the template ends with ${last}`);
  return { events, purgeAt: state.purgeAt };
}

const LIFE = lifeUntilPurge();
const PURGE_AT = LIFE.purgeAt;

const subscriptionOf = (i: number) => {
  const id = `sub_pg_${i}`;
  const accountId = `acc_${i % 5000}`;
  return {
    streamId: subscriptionStreamId(id),
    events: LIFE.events.map(({ event, at }, k) => ({
      type: event.type,
      data: { ...event.data, subscriptionId: id, accountId },
      metadata: {
        correlationId: `seed-${i}`,
        causationId: null,
        commandId: `seed-${i}-${k}`,
        actor: null,
        channel: 'support',
        recordedAt: at,
        schemaVersion: 1,
      },
    })),
  };
};

// ---- one phase: a fresh shape, seeded, the workers started, the burst measured ----

interface PhaseResult {
  name: string;
  ms: number;
  purgedInLogMs: number;
  /** CPU seconds per purge of the workers, PostgreSQL, redis-server and the holder together. */
  cpuPerPurge: number;
}

const HOLDER_SECRET = randomBytes(16).toString('hex');

async function phase(proof: boolean, holder: HolderServer, dir: string): Promise<PhaseResult> {
  const name = proof ? 'with proof' : 'without proof';
  const shape: PostgresShape = postgresShape('bench_pg');
  const phaseDir = join(dir, proof ? 'with' : 'without');
  const dataDirOf = (process: string) => join(phaseDir, process);
  const { add, cleanUp } = teardown();
  add(() => removeDir(phaseDir));
  const redis = await startBenchRedis(phaseDir);
  add(() => redis.stop());
  add(() => dropSchemas(shape));
  const workers: ChildProcess[] = [];
  add(() => stopWorkers(workers));
  const purgeCallsBefore = holder.calls.length;
  const verifyCallsBefore = holder.verifyCalls.length;
  try {
    console.log(`phase ${name}:`);
    console.log(`  stores: ${shape.log.key}, ${shape.read.key}; redis ${redis.url}`);
    const seeded = Date.now();
    await seedThroughStore(shape, dataDirOf('seed'), N, subscriptionOf);
    console.log(
      `  seeded ${N.toLocaleString('en')} subscriptions (${LIFE.events.length} events each: ${LIFE.events.map((e) => e.event.type).join(', ')}) in ${secs(Date.now() - seeded)}`,
    );

    // The scheduler must put the N purge jobs into Redis before they are due, from a log of 6N
    // events (2 cores, N = 2,000: 4-9 s after the start, the longer on a busy machine).
    const leadMs = Number(process.env['BENCH_LEAD_MS'] ?? Math.max(30_000, N * 5));
    const offset = clockOffset(PURGE_AT, leadMs);
    const dueAtReal = Date.parse(PURGE_AT) - offset;
    const ports = await freePorts(WORKERS);
    const started = Date.now();
    for (let i = 0; i < WORKERS; i++)
      workers.push(
        spawnShapeWorker({
          clockOffsetMs: offset,
          preload: proof ? [] : [join(__dirname, 'support', 'purge-without-proof.js')],
          env: {
            ...shape.env,
            DATA_DIR: dataDirOf(`worker-${i}`),
            REDIS_URL: redis.url,
            WORKER_HEALTH_PORT: String(ports[i]),
            READ_MODEL_PROJECTOR: 'on',
            // Webhooks are bench:webhooks' business: no endpoint is registered here anyway.
            DATA_HOLDERS: JSON.stringify({
              '*': [
                {
                  kind: 'http',
                  name: 'product',
                  url: holder.url,
                  secretEnv: 'BENCH_HOLDER_SECRET',
                },
              ],
            }),
            BENCH_HOLDER_SECRET: HOLDER_SECRET,
          },
        }),
      );
    const connection = createRedisConnection(redis.url, { forWorker: false });
    const purges = new Queue(LIFECYCLE_QUEUES.purge, { connection });
    add(async () => {
      await purges.close();
      connection.disconnect();
    });
    while ((await purges.getDelayedCount()) < N && Date.now() < dueAtReal) {
      if (workers.some(hasExited)) throw new Error('a worker process exited');
      await sleep(100);
    }
    console.log(
      `  scheduler: ${N.toLocaleString('en')} purge jobs in Redis ${secs(Date.now() - started)} after the start, ${secs(dueAtReal - Date.now())} before the due instant`,
    );
    if (Date.now() > dueAtReal)
      console.log('  WARNING: scheduling overran the due instant; raise BENCH_LEAD_MS');

    const read = await connect(shape.read.connectionString);
    add(() => read.end());
    const receipts = async (c: Client) => {
      const r = await c.query<{ projected: string; linked: string; last: string | null }>(
        `SELECT count(*) AS projected, count(sequence) AS linked, max(sequence)::text AS last FROM "${shape.read.schema}".rm_purge_receipts`,
      );
      return {
        projected: Number(r.rows[0]!.projected),
        linked: Number(r.rows[0]!.linked),
        last: Number(r.rows[0]!.last ?? 0),
      };
    };
    const purged = await postgresEventCounter(shape.log, 'ProductDataPurged', 'purgedAt', PURGE_AT);
    add(() => purged.close());
    const vacuums = async () => {
      const r = await read.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1",
        [`VACUUM "${shape.read.schema}".data_keys%`],
      );
      return Number(r.rows[0]!.n);
    };
    // Whatever the previous phase left to PostgreSQL's checkpointer is not this phase's cost.
    await read
      .query('CHECKPOINT')
      .catch(() => console.log('  (CHECKPOINT refused: not a superuser)'));
    await sleep(Math.max(0, dueAtReal - Date.now()));

    const giveUpMs = Math.max(900_000, N * 100);
    const t0 = Date.now();
    const workerCpu = () => workers.map((w) => cpuSeconds(w.pid!) ?? 0);
    const cpuAt = () => ({
      self: process.cpuUsage(),
      workers: workerCpu(),
      redis: cpuSeconds(redis.pid) ?? 0,
      postgres: postgresCpu(),
      machine: machineBusySeconds(),
    });
    const cpu0 = cpuAt();
    const wal0 = await purged.walBytes();
    let inLogAt: number | null = null;
    let doneAt: number | null = null;
    let early = 0;
    let lastReport = t0;
    let last = { projected: 0, linked: 0, last: 0 };
    while (doneAt === null) {
      const now = Date.now();
      const counted = await purged.count();
      early = counted.early;
      if (inLogAt === null && counted.counted >= N) inLogAt = now;
      last = await receipts(read);
      if (inLogAt !== null && (proof ? last.linked : last.projected) >= N) doneAt = Date.now();
      if (now - lastReport >= 5000) {
        lastReport = now;
        const jobs = await purges.getJobCounts('waiting', 'active', 'delayed', 'failed');
        console.log(
          `  +${secs(now - t0)}: purged in the log ${counted.counted.toLocaleString('en')}, receipts projected ${last.projected.toLocaleString('en')}, linked ${last.linked.toLocaleString('en')}; purge jobs ${Object.entries(
            jobs,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}; key-store VACUUMs running ${await vacuums()}`,
        );
        const retried = (await purges.getDelayed(0, 0))[0];
        if (retried && retried.attemptsMade > 0)
          console.log(`    a job retried: ${retried.id}: ${retried.failedReason}`);
      }
      if (workers.some(hasExited)) throw new Error('a worker process exited');
      if (now - t0 > giveUpMs) throw new Error(`gave up after ${secs(giveUpMs)}`);
      await sleep(100);
    }
    const ms = doneAt - t0;
    const cpu1 = cpuAt();
    const wal1 = await purged.walBytes();
    const final = await purged.count();
    const perPurge = (sec: number) => `${Math.round((sec / N) * 1e6).toLocaleString('en')} µs`;
    const selfS = (cpu1.self.user + cpu1.self.system - cpu0.self.user - cpu0.self.system) / 1e6;
    const workersS =
      cpu1.workers.reduce((a, b) => a + b, 0) - cpu0.workers.reduce((a, b) => a + b, 0);
    const postgresS = postgresCpuBetween(cpu0.postgres, cpu1.postgres);
    const redisS = cpu1.redis - cpu0.redis;
    const busy = (cpu1.machine - cpu0.machine) / (ms / 1000);
    const purgeCalls = holder.calls.length - purgeCallsBefore;
    const verifyCalls = holder.verifyCalls.length - verifyCallsBefore;

    console.log(`  results (from the due instant):`);
    console.log(
      `    all ${N.toLocaleString('en')} ProductDataPurged in the log: ${secs(inLogAt! - t0)} (${rate(N, inLogAt! - t0)})`,
    );
    console.log(
      `    and every receipt ${proof ? 'linked and signed' : 'projected (not linked: no proof)'}: ${secs(ms)} → ${rate(N, ms)}`,
    );
    console.log(
      `    ProductDataPurged events ${final.counted.toLocaleString('en')} (one per subscription: ${final.counted === N ? 'yes' : 'NO'}); purged before the due instant: ${early}`,
    );
    console.log(
      `    receipts: ${last.projected.toLocaleString('en')} projected, ${last.linked.toLocaleString('en')} linked (last sequence ${last.last.toLocaleString('en')}); holder: ${purgeCalls.toLocaleString('en')} purge requests, ${verifyCalls.toLocaleString('en')} verify requests${holder.calls.slice(purgeCallsBefore).every((c) => c.signatureValid) ? ', every signature valid' : ', SOME SIGNATURES INVALID'}`,
    );
    const shares = await Promise.all(ports.map((p) => metricSamples(p)));
    workers.forEach((_, i) => {
      const samples = shares[i]!;
      const part =
        typeof samples === 'string'
          ? samples
          : `purge jobs ${
              [
                ...sumByLabel(samples, 'lifecycle_jobs_total', 'outcome', (l) =>
                  l.includes('kind="purge"'),
                ),
              ]
                .map(([o, n]) => `${o} ${n.toLocaleString('en')}`)
                .join(', ') || 'none'
            }; ${rolesOf(samples)}`;
      const line = `worker ${i}: CPU ${(cpu1.workers[i]! - cpu0.workers[i]!).toFixed(1)} s (${cpu0.workers[i]!.toFixed(1)} s before the due instant); ${part}`;
      console.log(`    ${line}`);
    });
    console.log(
      `    CPU per purge: workers ${perPurge(workersS)}, PostgreSQL ${postgresS > 0 ? perPurge(postgresS) : '? (not on this machine)'}, redis-server ${perPurge(redisS)}, this process (HTTP holder and polling) ${perPurge(selfS)}; whole machine busy ${busy.toFixed(2)} of ${cpus().length} cores (other work included)`,
    );
    console.log(
      `    PostgreSQL WAL from the due instant: ${(Number(wal1 - wal0) / 2 ** 20).toFixed(0)} MiB, ${(Number(wal1 - wal0) / N / 1024).toFixed(1)} KiB per purge`,
    );
    const disks = workers.map((_, i) => {
      const files = filesUnder(dataDirOf(`worker-${i}`));
      return `worker-${i} ${files.length === 0 ? 'no files' : files.join(', ')}`;
    });
    console.log(`    files in the workers' DATA_DIRs: ${disks.join('; ')}`);
    // The phase measured what it says, or it fails.
    const problems = [
      final.counted !== N && `${final.counted} ProductDataPurged for ${N} subscriptions`,
      early > 0 && `${early} purged before the due instant`,
      purgeCalls < N && `the holder got ${purgeCalls} purge requests for ${N} purges`,
      proof && verifyCalls < N && `the holder got ${verifyCalls} verify requests for ${N} purges`,
      !proof && verifyCalls > 0 && `the holder got ${verifyCalls} verify requests without proof`,
      proof &&
        (last.linked !== N || last.last !== N) &&
        `receipts linked ${last.linked}, last ${last.last}`,
      !proof && last.linked > 0 && `${last.linked} receipts linked without proof`,
    ].filter(Boolean);
    if (problems.length > 0) throw new Error(`phase ${name}: ${problems.join('; ')}`);
    return {
      name,
      ms,
      purgedInLogMs: inLogAt! - t0,
      cpuPerPurge: (workersS + postgresS + redisS + selfS) / N,
    };
  } finally {
    await cleanUp();
  }
}

const perSecond = (ms: number) => ((N / ms) * 1000).toFixed(1);

async function burst(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-purge-'));
  const { add, cleanUp } = teardown();
  add(() => removeDir(dir));
  const holder = new HolderServer(HOLDER_SECRET);
  await holder.start();
  add(() => holder.stop());
  try {
    console.log(
      `bench:purge — burst of N = ${N.toLocaleString('en')} purges due at ${PURGE_AT}, ${WORKERS} worker process(es)`,
    );
    console.log(`machine: ${machine()}`);
    console.log(`date: ${new Date().toISOString()}`);
    console.log(
      `shape: ${WORKERS} worker processes started alike (apps/worker/src/main.ts; scheduler and read-model projector in whichever holds their lease, purge jobs in each, LIFECYCLE_PURGE_CONCURRENCY ${process.env['LIFECYCLE_PURGE_CONCURRENCY'] ?? 'default'}), PostgreSQL event log and read store in fresh schemas per phase, a private redis-server with AOF per phase, NODE_ENV=production; one HTTP data holder (this process, ${holder.url})`,
    );
    const redis = await startBenchRedis(join(dir, 'noop'));
    const noop = await noopRate(redis.url, NOOP_JOBS).finally(() => redis.stop());
    console.log(
      `calibration: raw BullMQ no-op processing (a redis-server like the phases', 1 worker, concurrency 100): ${noop.jobs.toLocaleString('en')} jobs in ${secs(noop.ms)} = ${rate(noop.jobs, noop.ms)} (the fastest of ${noop.roundsMs.length} rounds: ${noop.roundsMs.map(secs).join(', ')})`,
    );
    const results: PhaseResult[] = [];
    for (const p of PHASES) results.push(await phase(p === 'with', holder, dir));
    const withProof = results.find((r) => r.name === 'with proof');
    const without = results.find((r) => r.name === 'without proof');
    console.log('summary:');
    for (const r of results)
      console.log(
        `  ${r.name}: ${rate(N, r.ms)} (${N.toLocaleString('en')} in ${secs(r.ms)}; all in the log after ${secs(r.purgedInLogMs)}); CPU per purge (workers, PostgreSQL, redis-server, holder) ${Math.round(r.cpuPerPurge * 1e6).toLocaleString('en')} µs`,
      );
    if (withProof && without)
      console.log(
        `  the proof's cost in CPU: ${Math.round((withProof.cpuPerPurge - without.cpuPerPurge) * 1e6).toLocaleString('en')} µs per purge (${((withProof.cpuPerPurge / without.cpuPerPurge - 1) * 100).toFixed(0)} % more)`,
      );
    const noopMs = (noop.ms / noop.jobs) * N;
    if (withProof)
      console.log(
        `  with proof: ${(withProof.ms / noopMs).toFixed(1)}× the raw BullMQ no-op time for as many jobs`,
      );
    if (withProof && without) {
      const ratio = without.ms / withProof.ms;
      console.log(
        `ratio: ${perSecond(withProof.ms)}/${perSecond(without.ms)} purges/s = ${ratio.toFixed(2)} (target ≥ ${TARGET}) → ${ratio >= TARGET ? 'met' : 'NOT met'}`,
      );
    } else console.log('ratio: – (one phase only: BENCH_PHASES)');
  } finally {
    await cleanUp();
  }
}

// ---- BENCH_SHAPE=sequential: the earlier measure, one purge at a time in this process ----

async function sequential(): Promise<void> {
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

  console.log(`bench:purge (BENCH_SHAPE=sequential) — ${new Date().toISOString()}`);
  console.log(`machine: ${machine()}`);
  console.log(
    'conditions: SQLite event log (WAL, synchronous=FULL), SQLite key store, local holder (3 files per subscription, zero-overwrite + fsync + unlink, then verified), one purge at a time',
  );
  console.log(
    `purged ${purged}/${N} subscriptions in ${seconds.toFixed(2)} s → ${(purged / seconds).toFixed(1)} purges/s`,
  );
  console.log('ratio: – (no calibration in this shape; the burst has one)');
  if (purged !== N) process.exitCode = 1;
}

(SHAPE === 'sequential'
  ? sequential()
  : SHAPE === 'burst'
    ? burst()
    : Promise.reject(new Error(`BENCH_SHAPE is burst or sequential, not ${SHAPE}`))
).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
