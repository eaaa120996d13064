import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EventStore } from '@app/event-store';
import { createRedisConnection } from '@app/platform';
import { type AuditEventsTable, ReadDb } from '@app/read-models';
import {
  LIFECYCLE_JOB_OPTIONS,
  LIFECYCLE_QUEUES,
  type LifecycleJobData,
  type LifecycleJobKind,
} from '@app/scheduling';
import { auth, TOKENS } from '../../support/app-harness';
import { usePrivateRedis } from '../../support/redis-harness';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import {
  cancel,
  deleteKeys,
  EVENT_STORE,
  events,
  freshPrefix,
  getSubscription,
  type LifecycleApp,
  moveClock,
  register,
  scheduled,
  startLifecycleApp,
  types,
  until,
} from '../lifecycle/lifecycle-harness';
import { type CliRun, runOps } from './ops-cli';

const T0 = '2026-02-10T09:00:00.000Z';
const ms = (iso: string): number => Date.parse(iso);
const termEndId = (sub: string, dueAt: string) => `term-end-${sub}-${ms(dueAt)}`;
const purgeId = (sub: string, dueAt: string) => `purge-${sub}-${ms(dueAt)}`;
const kindOf = (jobId: string): LifecycleJobKind =>
  jobId.startsWith('term-end-')
    ? 'term-end'
    : jobId.startsWith('purge-notice-')
      ? 'purge-notice'
      : 'purge';

/** The test's own view of the lifecycle queues in Redis (plain BullMQ, not the code under test). */
class RedisView {
  private readonly connection: Redis;
  private readonly queues: Record<LifecycleJobKind, Queue<LifecycleJobData>>;

  constructor(url: string, prefix: string) {
    this.connection = createRedisConnection(url, { forWorker: false });
    const make = (kind: LifecycleJobKind) =>
      new Queue<LifecycleJobData>(LIFECYCLE_QUEUES[kind], { connection: this.connection, prefix });
    this.queues = {
      'term-end': make('term-end'),
      purge: make('purge'),
      'purge-notice': make('purge-notice'),
    };
  }

  queue(kind: LifecycleJobKind): Queue<LifecycleJobData> {
    return this.queues[kind];
  }

  /** Every job of both queues (any state) → its state. */
  async states(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const queue of Object.values(this.queues))
      for (const job of await queue.getJobs(
        ['active', 'wait', 'delayed', 'failed', 'completed', 'prioritized'],
        0,
        -1,
      ))
        if (job?.id) out[job.id] = await job.getState();
    return out;
  }

  state(jobId: string): Promise<string> {
    return this.queue(kindOf(jobId)).getJobState(jobId);
  }

  /** Adds a job the way the scheduler does (same options), due `delayMs` from now. */
  async add(jobId: string, data: LifecycleJobData, delayMs = 0, timestamp?: number) {
    await this.queue(kindOf(jobId)).add(kindOf(jobId), data, {
      ...LIFECYCLE_JOB_OPTIONS,
      jobId,
      delay: delayMs,
      ...(timestamp !== undefined ? { timestamp } : {}),
    });
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.queues).map((q) => q.close()));
    this.connection.disconnect();
  }
}

const parseJson = (run: CliRun) => {
  if (run.code !== 0) throw new Error(`ops exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout);
};

/**
 * The operator CLI's job commands (reconcile-jobs, jobs, retry) and export-audit, each run as a
 * real child process (`npm run ops -- …`) against the DATA_DIR (SQLite log, read models, key
 * store, scheduler table) and the Redis of a real service started in the test with a controlled
 * clock — the suite's private redis-server, each test under its own queue prefix.
 */
describe('ops CLI: lifecycle jobs and audit export (child process, real redis-server and SQLite)', () => {
  const redis = usePrivateRedis({ persistence: 'aof' });

  describe('against a running (or stopped) service', () => {
    let dataDir: string;
    let prefix: string;
    let t: LifecycleApp | null = null;
    let view: RedisView;

    const env = (): Record<string, string> => ({
      DATA_DIR: dataDir,
      REDIS_URL: redis.url,
      LIFECYCLE_QUEUE_PREFIX: prefix,
      CLOCK_MODE: 'controlled',
    });
    const ops = (...args: string[]) => runOps(args, env());
    const app = (): LifecycleApp => {
      if (!t) throw new Error('the service is stopped');
      return t;
    };
    const startService = async (start: string) => {
      // Without D7's purge notices: these tests count the three jobs seeded below. With a
      // horizon of 120 days: they read the service's jobs weeks and months away in Redis; with the
      // default 48 h those wait in the table (test/integration/lifecycle/horizon.test.ts).
      t = await startLifecycleApp({
        redisUrl: redis.url,
        dataDir,
        prefix,
        start,
        lifecycle: { purgeNoticeDays: [], horizonMs: 120 * 86_400_000 },
      });
      return t;
    };
    const stopService = async () => {
      await t?.close();
      t = null;
    };

    beforeEach(async () => {
      dataDir = makeTmpDir('ops-jobs-');
      prefix = freshPrefix();
      view = new RedisView(redis.url, prefix);
      await startService(T0);
    });

    afterEach(async () => {
      await stopService();
      await view.close();
      await deleteKeys(redis.url, prefix);
      removeTmpDir(dataDir);
    });

    /**
     * sub_a and sub_b renew monthly (a term-end job each); sub_c is cancelled and expires on
     * 2026-02-12, which leaves its purge job (due 90 days later). Returns the three job ids,
     * derived from the subscriptions' own dates.
     */
    async function seedThreeJobs() {
      const s = app();
      await register(s, { subscriptionId: 'sub_a', accountId: 'acc_a' });
      await register(s, {
        subscriptionId: 'sub_b',
        accountId: 'acc_b',
        termStart: '2026-01-20T00:00:00+01:00',
      });
      await register(s, {
        subscriptionId: 'sub_c',
        accountId: 'acc_c',
        termStart: '2026-01-12T00:00:00+01:00',
      });
      await cancel(s, 'sub_c');
      await moveClock(s, '2026-02-12T12:00:00.000Z');
      await scheduled(s);
      const [a, b, c] = await Promise.all(
        ['sub_a', 'sub_b', 'sub_c'].map((id) => getSubscription(s, id)),
      );
      expect(c!.status).toBe('expired');
      const ids = {
        a: termEndId('sub_a', a!.currentTerm.end),
        b: termEndId('sub_b', b!.currentTerm.end),
        c: purgeId('sub_c', c!.purgeAt),
      };
      // The service scheduled exactly these.
      expect(await view.states()).toEqual({
        [ids.a]: 'delayed',
        [ids.b]: 'delayed',
        [ids.c]: 'delayed',
      });
      return { ids, dueA: a!.currentTerm.end as string, dueB: b!.currentTerm.end as string };
    }

    it('reconcile-jobs --dry-run after FLUSHALL lists the jobs it would recreate and changes nothing (exit 0); reconcile-jobs recreates them under their deterministic ids, and the restored timers fire when the clock moves', async () => {
      const { ids } = await seedThreeJobs();
      const expected = [ids.a, ids.b, ids.c].sort();
      await stopService();
      await redis.flushAll();
      expect(await view.states()).toEqual({});

      const dry = await ops('reconcile-jobs', '--dry-run', '--json');
      expect(dry.stderr).toBe('');
      const plan = parseJson(dry);
      expect(plan.applied).toBeNull();
      expect(plan.plan).toMatchObject({
        caughtUp: true,
        desired: 3,
        present: 0,
        stale: [],
        retry: [],
        refused: [],
      });
      expect([...plan.plan.missing].sort()).toEqual(expected);
      const human = await ops('reconcile-jobs', '--dry-run');
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^Would change \(scheduler at \d+, log head \d+\):/);
      expect(human.stdout).toContain('  desired 3, present 0');
      expect(human.stdout).toMatch(new RegExp(`create 3: .*${ids.a}`));
      expect(human.stdout).not.toContain('Applied');
      // Nothing changed: still no job in Redis.
      expect(await view.states()).toEqual({});

      const run = await ops('reconcile-jobs', '--json');
      const result = parseJson(run);
      expect(result.applied).toMatchObject({
        desired: 3,
        present: 0,
        recreated: 3,
        removed: 0,
        retried: 0,
        caughtUp: true,
      });
      const restored = await view.states();
      expect(Object.keys(restored).sort()).toEqual(expected);
      // Due in the past of the real clock (2026-02 dates): pending, waiting for a worker.
      expect(Object.values(restored).every((s) => s === 'waiting' || s === 'delayed')).toBe(true);
      expect((await view.queue('purge').getJob(ids.c))!.data).toEqual({
        subscriptionId: 'sub_c',
        accountId: 'acc_c',
        dueAt: new Date(Number(ids.c.split('-').pop())).toISOString(),
      });

      // A second run finds everything in place.
      const again = await ops('reconcile-jobs');
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('  create 0\n');
      expect(again.stdout).toContain('Applied: recreated 0, removed 0, retried 0.');

      // A waiting job is neither failed nor delayed: retry refuses it (exit 1).
      const notRetryable = await ops('retry', ids.a);
      expect(notRetryable.code).toBe(1);
      expect(notRetryable.stderr).toContain(
        `Job ${ids.a} is waiting: only failed jobs are retried`,
      );

      // The service comes back; the recreated timers fire at their due times.
      const s = await startService('2026-02-12T12:00:00.000Z');
      await moveClock(s, '2026-03-01T12:00:00.000Z');
      const renewedA = (await events(s, 'sub_a')).find((e) => e.type === 'SubscriptionRenewed');
      expect(renewedA?.metadata.correlationId).toBe(`job-${ids.a}`);
      expect(await types(s, 'sub_b')).toEqual(['SubscriptionRegistered', 'SubscriptionRenewed']);
    }, 60_000);

    it('reconcile-jobs removes a job the log does not call for once it is older than the grace period (the dry run lists exactly that one); a job added moments ago is left', async () => {
      const { ids } = await seedThreeJobs();
      const old = termEndId('sub_gone', '2026-03-01T00:00:00.000Z');
      const young = termEndId('sub_new', '2026-03-02T00:00:00.000Z');
      const data = (sub: string, dueAt: string) => ({
        subscriptionId: sub,
        accountId: 'acc_x',
        dueAt,
      });
      await view.add(
        old,
        data('sub_gone', '2026-03-01T00:00:00.000Z'),
        86_400_000,
        Date.now() - 10 * 60_000,
      );
      await view.add(young, data('sub_new', '2026-03-02T00:00:00.000Z'), 86_400_000);
      await stopService();

      const dry = parseJson(await ops('reconcile-jobs', '--dry-run', '--json'));
      expect(dry.plan).toMatchObject({
        desired: 3,
        present: 3,
        missing: [],
        stale: [old],
        recent: [young],
      });
      expect((await view.states())[old]).toBe('delayed');

      const run = await ops('reconcile-jobs');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`  remove 1: ${old}\n`);
      expect(run.stdout).toContain(
        `  keep, not called for but added less than 60 s ago 1: ${young}\n`,
      );
      expect(run.stdout).toContain('Applied: recreated 0, removed 1, retried 0.');
      const after = await view.states();
      expect(after[old]).toBeUndefined();
      expect(after[young]).toBe('delayed');
      for (const id of Object.values(ids)) expect(after[id]).toBe('delayed');
    }, 60_000);

    it('jobs lists pending and failed jobs with state, due time, attempts and reason; --delayed and --failed filter; --json is machine-readable; a job refused by the domain (NOT_FOUND) fails for good with its DOMAIN_REFUSAL reason', async () => {
      const { ids, dueA, dueB } = await seedThreeJobs();
      // A job for a subscription this log does not know (e.g. Redis shared with another
      // environment): the term-end processor's command is refused, the job fails at once.
      const ghost = termEndId('sub_ghost', '2026-02-11T00:00:00.000Z');
      await view.add(ghost, {
        subscriptionId: 'sub_ghost',
        accountId: 'acc_g',
        dueAt: '2026-02-11T00:00:00.000Z',
      });
      await until(async () => (await view.state(ghost)) === 'failed', 'the ghost job to fail');

      const all = parseJson(await ops('jobs', '--json'));
      const purgeDue = new Date(Number(ids.c.split('-').pop())).toISOString();
      expect(all).toEqual([
        {
          id: ghost,
          kind: 'term-end',
          state: 'failed',
          subscriptionId: 'sub_ghost',
          accountId: 'acc_g',
          dueAt: '2026-02-11T00:00:00.000Z',
          attemptsMade: 1,
          failedReason: 'DOMAIN_REFUSAL NOT_FOUND: Subscription sub_ghost does not exist.',
          createdAt: expect.any(String),
        },
        expect.objectContaining({
          id: ids.b,
          kind: 'term-end',
          state: 'delayed',
          dueAt: dueB,
          subscriptionId: 'sub_b',
          attemptsMade: 0,
          failedReason: null,
        }),
        expect.objectContaining({
          id: ids.a,
          kind: 'term-end',
          state: 'delayed',
          dueAt: dueA,
          subscriptionId: 'sub_a',
          accountId: 'acc_a',
        }),
        expect.objectContaining({
          id: ids.c,
          kind: 'purge',
          state: 'delayed',
          dueAt: purgeDue,
          subscriptionId: 'sub_c',
        }),
      ]);

      const delayed = parseJson(await ops('jobs', '--delayed', '--json'));
      expect(delayed.map((j: { id: string }) => j.id)).toEqual([ids.b, ids.a, ids.c]);
      const failed = parseJson(await ops('jobs', '--failed', '--json'));
      expect(failed.map((j: { id: string; state: string }) => [j.id, j.state])).toEqual([
        [ghost, 'failed'],
      ]);

      const human = await ops('jobs');
      expect(human.code).toBe(0);
      const lines = human.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^id\s+state\s+due\s+attempts\s+reason$/);
      expect(lines).toHaveLength(2 + 4);
      expect(lines[2]).toMatch(
        new RegExp(
          `^${ghost}\\s+failed\\s+2026-02-11T00:00:00.000Z\\s+1\\s+DOMAIN_REFUSAL NOT_FOUND`,
        ),
      );
      expect(lines[3]).toMatch(new RegExp(`^${ids.b}\\s+delayed\\s+${dueB}\\s+0$`));

      // Nothing failed yet in an empty prefix: a clear "No jobs."
      const none = await runOps(['jobs', '--failed'], {
        ...env(),
        LIFECYCLE_QUEUE_PREFIX: freshPrefix(),
      });
      expect(none).toMatchObject({ code: 0, stdout: 'No jobs.\n' });
    }, 60_000);

    it('retry re-runs a refused job once its cause is fixed: reconcile-jobs leaves it failed, retry sends it back to run, it waits for its due time and then renews the subscription; promoting a delayed job never renews early; an unknown id exits 1', async () => {
      const s = app();
      await register(s, { subscriptionId: 'sub_a', accountId: 'acc_a' });
      const dueAt = (await getSubscription(s, 'sub_a')).currentTerm.end as string;
      const early = termEndId('sub_late', dueAt);
      // The job runs before its subscription is registered: refused (NOT_FOUND), failed for good.
      await view.add(early, { subscriptionId: 'sub_late', accountId: 'acc_l', dueAt });
      await until(async () => (await view.state(early)) === 'failed', 'the job to fail');
      await register(s, { subscriptionId: 'sub_late', accountId: 'acc_l' });
      await scheduled(s);
      expect(await view.state(early)).toBe('failed');

      // The reconciler leaves a refusal visible for an operator (it does not retry it).
      const rec = parseJson(await ops('reconcile-jobs', '--json'));
      expect(rec.plan.refused).toEqual([early]);
      expect(rec.plan.retry).toEqual([]);
      expect(rec.plan.missing).toEqual([]);
      expect(rec.applied).toMatchObject({ recreated: 0, retried: 0, failed: 1 });
      expect(await view.state(early)).toBe('failed');
      const recHuman = await ops('reconcile-jobs', '--dry-run');
      expect(recHuman.stdout).toContain(`refused (left failed) 1: ${early}`);

      const retry = await ops('retry', early, '--actor', 'ops_anna');
      expect(retry).toMatchObject({ code: 0, stdout: `${early}: retried (was failed).\n` });
      // It ran: the subscription exists now, its term end is ahead of the clock, so the job
      // went back to the delayed set (D5) instead of failing again.
      await until(async () => (await view.state(early)) === 'delayed', 'the retried job to wait');
      const job = await view.queue('term-end').getJob(early);
      expect(job!.failedReason ?? '').toBe('');
      expect(await types(s, 'sub_late')).toEqual(['SubscriptionRegistered']);

      // Promoting sub_a's delayed term end runs it now: early, so nothing is written.
      const termA = termEndId('sub_a', dueAt);
      const promote = await ops('retry', termA);
      expect(promote).toMatchObject({ code: 0, stdout: `${termA}: promoted (was delayed).\n` });
      // Both actions are in the log, with who did them: the dashboard cannot act, the CLI records.
      const actions = await s.app.get<EventStore>(EVENT_STORE).readStream('ops-actions');
      expect(actions.map((e) => [e.type, e.data['jobId'], e.metadata.actor?.actorId])).toEqual([
        ['LifecycleJobRetried', early, 'ops_anna'],
        ['LifecycleJobPromoted', termA, expect.stringContaining('@') as string],
      ]);
      expect(actions[1]!.metadata.channel).toBe('operator');
      await until(
        async () => (await view.state(termA)) === 'delayed',
        'the promoted job to wait again',
      );
      expect(await types(s, 'sub_a')).toEqual(['SubscriptionRegistered']);

      await moveClock(s, new Date(ms(dueAt) + 3_600_000).toISOString());
      const renewed = (await events(s, 'sub_late')).find((e) => e.type === 'SubscriptionRenewed');
      expect(renewed?.metadata.correlationId).toBe(`job-${early}`);
      expect(await types(s, 'sub_a')).toEqual(['SubscriptionRegistered', 'SubscriptionRenewed']);

      // Done and gone (completed jobs are not kept): nothing to retry. An id never seen either.
      const gone = await ops('retry', early);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toBe(`No lifecycle job ${early}.\n`);
      const unknown = await ops('retry', 'purge-sub_nobody-1767225600000');
      expect(unknown).toMatchObject({ code: 1, stdout: '' });
      expect(unknown.stderr).toBe('No lifecycle job purge-sub_nobody-1767225600000.\n');
    }, 60_000);

    it('export-audit writes the events recorded in [from, to) as NDJSON, one object per line, identical to GET /v1/audit/events over that window; personal fields decrypted while the key exists, [erased] once the purge shredded it', async () => {
      const s = app();
      const T1 = '2026-02-11T10:00:00.000Z';
      const T2 = '2026-02-12T10:00:00.000Z';
      const T3 = '2026-02-13T10:00:00.000Z';
      await register(s, { subscriptionId: 'sub_p', accountId: 'acc_p' });
      await register(s, { subscriptionId: 'sub_k', accountId: 'acc_k', plan: { kind: 'annual' } });
      await moveClock(s, T1);
      await cancel(s, 'sub_p'); // expires at the end of February, purged 90 days later
      await moveClock(s, T2);
      await cancel(s, 'sub_k'); // annual: expires in 2027, its key stays
      await moveClock(s, T3);
      await register(s, { subscriptionId: 'sub_z', accountId: 'acc_z' }); // exactly at `to`
      await moveClock(s, '2026-06-15T00:00:00.000Z');
      expect(await types(s, 'sub_p')).toContain('ProductDataPurged');
      const head = await s.app.get<EventStore>(EVENT_STORE).headPosition();

      const audit = async (query: string) => {
        const res = await s.app.inject({
          method: 'GET',
          url: `/v1/audit/events?${query}&minPosition=${head}`,
          headers: auth(TOKENS.auditor),
        });
        expect(res.statusCode).toBe(200);
        return res;
      };
      const window = `from=${encodeURIComponent(T1)}&to=${encodeURIComponent(T3)}`;
      const viaHttp = (await audit(`${window}&format=ndjson`)).body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      const page = (await audit(`${window}&limit=1000`)).json();

      const out = join(dataDir, 'audit.ndjson');
      writeFileSync(out, 'old content\n'); // overwritten
      // --from with an offset: the same instant as T1.
      const run = await ops(
        'export-audit',
        '--from',
        '2026-02-11T11:00:00+01:00',
        '--to',
        T3,
        '--out',
        out,
      );
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const text = readFileSync(out, 'utf8');
      // Decrypted personal fields: readable by the owner only.
      expect(statSync(out).mode & 0o777).toBe(0o600);
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.trimEnd().split('\n');
      const exported = lines.map((l) => JSON.parse(l));
      expect(run.stdout).toBe(`Wrote ${exported.length} audit events to ${out}.\n`);

      // The window: both cancellations (the first exactly at `from`), nothing at or after `to`.
      expect(exported.map((e) => `${e.subscriptionId} ${e.type} ${e.recordedAt}`)).toEqual([
        `sub_p CancellationRequested ${T1}`,
        `sub_p AutoRenewDisabled ${T1}`,
        `sub_k CancellationRequested ${T2}`,
        `sub_k AutoRenewDisabled ${T2}`,
      ]);
      const positions = exported.map((e) => Number(e.position));
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      // The log does hold events just outside the window on both sides.
      const everything = (await audit('format=ndjson')).body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(everything.some((e) => e.recordedAt === T3 && e.subscriptionId === 'sub_z')).toBe(
        true,
      );
      expect(everything.some((e) => e.recordedAt === T0)).toBe(true);

      // Same events, same shape as the audit route returns them.
      expect(exported).toEqual(viaHttp);
      expect(exported).toHaveLength(page.items.length);
      expect(page.hasMore).toBe(false);

      // Personal fields: decrypted for sub_k (key alive), erased for sub_p (purged).
      const requested = (sub: string) =>
        exported.find((e) => e.subscriptionId === sub && e.type === 'CancellationRequested');
      expect(requested('sub_k').data.verification).toMatchObject({
        billingAdminEmail: 'anna@example.com',
        paymentLast4: '4242',
      });
      expect(requested('sub_p').data.verification).toMatchObject({
        billingAdminEmail: '[erased]',
        paymentLast4: '[erased]',
      });
      // The plaintext appears once in the file: sub_k's, not sub_p's.
      expect(text.split('anna@example.com')).toHaveLength(2);
    }, 60_000);
  });

  describe('arguments and exit codes (0 ok, 1 failure, 2 usage error)', () => {
    let dir: string;
    beforeEach(() => {
      dir = makeTmpDir('ops-args-');
    });
    afterEach(() => removeTmpDir(dir));
    const env = () => ({ DATA_DIR: dir, REDIS_URL: redis.url });

    it('--help of reconcile-jobs, jobs, retry and export-audit exits 0 and describes the command', async () => {
      const runs = await Promise.all(
        ['reconcile-jobs', 'jobs', 'retry', 'export-audit'].map((c) =>
          runOps([c, '--help'], env()),
        ),
      );
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
      expect(runs[0]!.stdout).toContain('Usage: ops reconcile-jobs [options]');
      expect(runs[0]!.stdout).toContain('--dry-run');
      expect(runs[1]!.stdout).toContain('--failed');
      expect(runs[1]!.stdout).toContain('--delayed');
      expect(runs[2]!.stdout).toContain('Usage: ops retry [options] <jobId>');
      expect(runs[3]!.stdout).toContain('--out <file.ndjson>');
    });

    it('usage errors exit 2 and write no file: export-audit without --out, with an invalid or offset-less time, with --from not before --to; jobs --failed --delayed; retry without a job id', async () => {
      const out = join(dir, 'x.ndjson');
      const from = '2026-02-11T00:00:00Z';
      const to = '2026-02-12T00:00:00Z';
      const runs = await Promise.all([
        runOps(['export-audit', '--from', from, '--to', to], env()),
        runOps(['export-audit', '--from', 'yesterday', '--to', to, '--out', out], env()),
        runOps(['export-audit', '--from', '2026-02-11T00:00:00', '--to', to, '--out', out], env()),
        runOps(['export-audit', '--from', to, '--to', from, '--out', out], env()),
        runOps(
          ['export-audit', '--from', from, '--to', '2026-02-11T01:00:00+01:00', '--out', out],
          env(),
        ),
        runOps(['jobs', '--failed', '--delayed'], env()),
        runOps(['retry'], env()),
      ]);
      expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2]);
      expect(runs[0].stderr).toContain("required option '--out <file.ndjson>' not specified");
      expect(runs[1].stderr).toContain('--from must be an ISO 8601 time');
      expect(runs[2].stderr).toContain('--from must be an ISO 8601 time with an offset');
      expect(runs[3].stderr).toContain('--from must be before --to');
      expect(runs[4].stderr).toContain('--from must be before --to');
      expect(runs[5].stderr).toMatch(/option '--failed' cannot be used with option '--delayed'/);
      expect(runs[6].stderr).toContain("missing required argument 'jobId'");
      expect(existsSync(out)).toBe(false);
    });

    it('runtime failures exit 1 with a message: reconcile-jobs where the worker never ran, export-audit into a missing directory, job commands when Redis does not answer (bounded, no hang)', async () => {
      const port = await closedPort();
      // Its own DATA_DIR: processes opening fresh SQLite files at once is not what this test is
      // about (the read database copes, see read-models/migration-race.test.ts; the event log's
      // switch to WAL, libs/event-store sqlite-connection.ts, does not retry on SQLITE_BUSY yet).
      const downDir = join(dir, 'down');
      mkdirSync(downDir);
      const down = { DATA_DIR: downDir, REDIS_URL: `redis://127.0.0.1:${port}` };
      const started = Date.now();
      const runs = await Promise.all([
        runOps(['reconcile-jobs'], env()),
        runOps(
          [
            'export-audit',
            '--from',
            '2026-01-01T00:00:00Z',
            '--to',
            '2026-02-01T00:00:00Z',
            '--out',
            join(dir, 'no', 'such', 'dir.ndjson'),
          ],
          env(),
        ),
        runOps(['jobs'], down),
        runOps(['retry', 'term-end-sub_1-1767225600000'], down),
        runOps(['reconcile-jobs', '--dry-run'], down),
      ]);
      expect(runs.map((r) => r.code)).toEqual([1, 1, 1, 1, 1]);
      expect(runs[0].stderr).toMatch(
        /No scheduler table at .*scheduler\.sqlite: the worker has not run on this DATA_DIR/,
      );
      expect(runs[1].stderr).toMatch(/^ops failed: ENOENT/);
      for (const r of runs.slice(2)) {
        expect(r.stderr).toMatch(
          new RegExp(`^ops failed: Redis at redis://127.0.0.1:${port} did not answer`),
        );
        expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      }
      expect(Date.now() - started).toBeLessThan(20_000);
    }, 30_000);

    it('export-audit replaces --out atomically: an export failing midway (an audit row that cannot be decoded, on the second page, after the first was written) exits 1, leaves the existing file as it was and no temporary file; once the row is fixed the same export replaces the file', async () => {
      // A read database holding 1,500 audit rows of January; the 1,200th is not JSON, so the
      // export writes its first page (1,000 events) and fails on the second.
      const dataDir = join(dir, 'data');
      const readDb = await ReadDb.open({ dataDir });
      const row = (position: number): AuditEventsTable => ({
        position,
        event_id: `ev-${position}`,
        stream_id: 'subscription-sub_x',
        revision: position - 1,
        type: 'SubscriptionNoted',
        recorded_at: new Date(ms('2026-01-10T00:00:00.000Z') + position * 1000).toISOString(),
        subscription_id: 'sub_x',
        account_id: 'acc_x',
        actor_id: null,
        actor_role: null,
        channel: 'test',
        correlation_id: `corr-${position}`,
        causation_id: null,
        data: position === 1200 ? '{"n": ' : JSON.stringify({ n: position }),
        personal: 0,
        scrubbed: 0,
      });
      try {
        for (let first = 1; first <= 1500; first += 250)
          await readDb.db
            .insertInto('rm_audit_events')
            .values(Array.from({ length: 250 }, (_, i) => row(first + i)))
            .execute();
      } finally {
        await readDb.close();
      }

      const exports = join(dir, 'exports');
      mkdirSync(exports);
      const out = join(exports, 'audit.ndjson');
      writeFileSync(out, 'the previous export\n');
      const args = [
        'export-audit',
        '--from',
        '2026-01-01T00:00:00Z',
        '--to',
        '2026-02-01T00:00:00Z',
        '--out',
        out,
      ];
      const failed = await runOps(args, { ...env(), DATA_DIR: dataDir });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/^ops failed: .*JSON/);
      expect(failed.stdout).toBe('');
      expect(readFileSync(out, 'utf8')).toBe('the previous export\n');
      expect(readdirSync(exports)).toEqual(['audit.ndjson']);

      const fixed = await ReadDb.open({ dataDir });
      try {
        await fixed.db
          .updateTable('rm_audit_events')
          .set({ data: JSON.stringify({ n: 1200 }) })
          .where('position', '=', 1200)
          .execute();
      } finally {
        await fixed.close();
      }
      const ok = await runOps(args, { ...env(), DATA_DIR: dataDir });
      expect(ok).toEqual({ code: 0, stdout: `Wrote 1500 audit events to ${out}.\n`, stderr: '' });
      const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l).data.n)).toEqual(
        Array.from({ length: 1500 }, (_, i) => i + 1),
      );
      expect(readdirSync(exports)).toEqual(['audit.ndjson']);
    }, 30_000);
  });
});

/** A TCP port nothing listens on (taken, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
