import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { openEventStores } from '@app/infrastructure';
import { readModelChecksums, verifyReadModels } from '@app/ops';
import { loadConfig } from '@app/platform';
import { openReceiptKeyring, ReadDb, ReadStore } from '@app/read-models';
import { freezeProcess } from '../../support/processes';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { sqliteGenerationsLeft, sqlitePointer } from './generations-left';
import { runOps } from './ops-cli';
import { projectLive } from './project-live';
import { seedLog } from './seed-log';

/**
 * The operator CLI as a real child process against a log of 100,000 events made by the real
 * deciders, with read models projected by the live projector: replay, verify, inspect, exit codes.
 */
describe('ops CLI on 100,000 events (SQLite)', () => {
  let dataDir: string;
  let readDb: ReadDb;
  let readStore: ReadStore;
  let events = 0;
  const env = () => ({ DATA_DIR: dataDir });

  beforeAll(async () => {
    dataDir = makeTmpDir('ops-cli-');
    const config = loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' });
    const stores = openEventStores(config);
    ({ events } = await seedLog(stores, 100_000, { encryptEvery: 10 }));
    readDb = await ReadDb.open({ dataDir });
    readStore = new ReadStore(readDb);
    // D11: the receipts signed with the key the ops CLI finds under DATA_DIR, as the service would.
    const { signer } = await openReceiptKeyring(config, stores.keys);
    await projectLive(stores.raw, readDb, readStore, signer);
    await stores.raw.close();
    await stores.keys.close();
  }, 180_000);

  afterAll(async () => {
    await readDb?.close();
    if (dataDir) removeTmpDir(dataDir);
  });

  it('replay of 100,000 events rebuilds read models identical to the live ones (checksums equal), and queries keep answering while it runs', async () => {
    expect(events).toBeGreaterThanOrEqual(100_000);
    const before = await readModelChecksums(readDb);
    const listed = (await readStore.subscriptionsOf('acc_1')).length;
    expect(listed).toBe(5);

    const replay = runOps(['replay', '--json'], env());
    let done = false;
    let queries = 0;
    const answers = new Set<number>();
    const reader = (async () => {
      while (!done) {
        answers.add((await readStore.subscriptionsOf('acc_1')).length);
        queries++;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const run = await replay;
    done = true;
    await reader;

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ swapped: true, dryRun: false, position: String(events) });
    expect(report.events).toBeGreaterThanOrEqual(events);
    // Every query during the rebuild and the switch answered, with the full list.
    expect(queries).toBeGreaterThan(10);
    expect([...answers]).toEqual([5]);

    const after = await readModelChecksums(readDb);
    expect(after).toEqual(before);
    expect(after.rm_audit_events.rows).toBe(events);
    expect(await readStore.checkpoint()).toBe(BigInt(events));
  }, 120_000);

  it('replay --dry-run --progress-ndjson: progress as JSON lines on stderr up to the head, the report on stdout, the live tables untouched', async () => {
    const before = await readModelChecksums(readDb);
    const run = await runOps(['replay', '--dry-run', '--json', '--progress-ndjson'], env());
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ dryRun: true, swapped: false, identical: true });
    const lines = run.stderr.trimEnd().split('\n');
    const progress = lines.map(
      (l) => (JSON.parse(l) as { progress: { done: number; total: number } }).progress,
    );
    expect(progress.length).toBeGreaterThan(0);
    const done = progress.map((p) => p.done);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(progress.at(-1)).toMatchObject({ done: events, total: events });
    expect(await readModelChecksums(readDb)).toEqual(before);
  }, 120_000);

  it('verify passes on projected read models (exit 0) and reports an injected drift (exit 1)', async () => {
    const clean = await verifyReadModels({ log: (await openLog()).raw, readDb });
    expect(clean).toMatchObject({ ok: true, driftCount: 0, events });

    await readDb.db
      .updateTable('rm_subscriptions')
      .set({ status: 'active' })
      .where('subscription_id', '=', 'sub_8')
      .execute();
    await readDb.db.deleteFrom('rm_audit_events').where('position', '=', 77).execute();
    await readDb.db
      .updateTable('rm_accounts')
      .set({ legal_hold: 0, hold_id: null })
      .where('account_id', '=', 'acc_0-sub')
      .execute();

    const run = await runOps(['verify', '--json'], env());
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.ok).toBe(false);
    expect(report.driftCount).toBe(3);
    const kinds = report.drifts
      .map((d: { kind: string; key: string }) => `${d.kind} ${d.key}`)
      .sort();
    expect(kinds).toEqual([
      'account-row-different account-acc_0-sub',
      'audit-row-missing 77',
      'subscription-row-different subscription-sub_8',
    ]);
    const sub = report.drifts.find(
      (d: { kind: string }) => d.kind === 'subscription-row-different',
    );
    expect(sub.fields.status).toEqual({ expected: 'purged', actual: 'active' });

    const human = await runOps(['verify'], env());
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('DRIFT');
    expect(human.stdout).toContain('status: log says "purged", row has "active"');
  }, 120_000);

  it('inspect --as-of shows the state as of that date, personal fields as the decrypting store returns them', async () => {
    // sub_0: monthly, registered 2025-01-01, a refused self-service attempt by a plain user on
    // 01-11, cancelled through support on 01-12, expired at the term end, purged 90 days later.
    const asOf = await runOps(
      ['inspect', 'subscription-sub_0', '--as-of', '2025-01-20T00:00:00Z', '--json'],
      env(),
    );
    expect(asOf.code).toBe(0);
    const mid = JSON.parse(asOf.stdout);
    expect(mid.state.status).toBe('cancellation_pending');
    expect(mid.events.map((e: { type: string }) => e.type)).toEqual([
      'SubscriptionRegistered',
      'CancellationRefused',
      'CancellationRequested',
      'AutoRenewDisabled',
    ]);
    expect(mid.laterEvents).toBeGreaterThan(0);
    const requested = mid.events.find((e: { type: string }) => e.type === 'CancellationRequested');
    expect(requested.data.survey.comment).toBe('comment of sub_0');
    expect(requested.data.verification.billingAdminEmail).toBe('acc_0@example.com');

    const later = await runOps(
      ['inspect', 'subscription-sub_0', '--as-of', '2025-03-01T00:00:00+01:00', '--json'],
      env(),
    );
    expect(JSON.parse(later.stdout).state.status).toBe('expired');
    const all = await runOps(['inspect', 'subscription-sub_0'], env());
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('ProductDataPurged');
    expect(all.stdout).toMatch(/State:\n\{\n[^]*"status": "purged"/);
  }, 60_000);

  it('exit codes: 0 for help, 2 for usage errors, 1 for an unknown stream', async () => {
    const runs = await Promise.all([
      runOps(['--help'], env()),
      runOps(['replay', '--help'], env()),
      runOps(['replay', '--projection', 'nope'], env()),
      runOps(['inspect', 'subscription-sub_0', '--as-of', 'yesterday'], env()),
      runOps(['verify', '--bogus'], env()),
      runOps(['no-such-command'], env()),
      runOps(['inspect', 'subscription-nope'], env()),
    ]);
    expect(runs.map((r) => r.code)).toEqual([0, 0, 2, 2, 2, 2, 1]);
    expect(runs[0].stdout).toContain('Exit codes: 0 ok, 1 failure or drift, 2 usage error.');
    expect(runs[2].stderr).toContain('Unknown projection "nope"');
    expect(runs[3].stderr).toContain('--as-of must be an ISO 8601 time');
    expect(runs[6].stderr).toContain('No stream subscription-nope.');
  }, 60_000);

  it('export-audit interrupted by SIGINT removes its partial file (decrypted personal fields) and leaves --out as it was; the next export removes a file orphaned by a killed export', async () => {
    const out = join(dataDir, 'export', 'audit.ndjson');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, 'previous export\n');
    // A dead export's leftover: no process has this pid (above the kernel's pid_max).
    const orphan = `${out}.99999999.tmp`;
    writeFileSync(orphan, '{"partial": true}\n');
    const window = ['--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z'];

    const run = runOps(['export-audit', ...window, '--out', out], env());
    const tmp = `${out}.${run.child.pid}.tmp`;
    // Interrupt once the export has started writing (100,000 events take seconds).
    while (!existsSync(tmp) || statSync(tmp).size === 0) {
      expect(run.child.exitCode).toBeNull();
      await new Promise((r) => setTimeout(r, 5));
    }
    run.child.kill('SIGINT');
    const interrupted = await run;
    expect(interrupted.code).toBe(1);
    expect(interrupted.stderr).toContain('export-audit interrupted');
    expect(existsSync(tmp)).toBe(false);
    expect(readFileSync(out, 'utf8')).toBe('previous export\n');
    expect(existsSync(orphan)).toBe(false); // removed by this export already, before it started

    writeFileSync(orphan, '{"partial": true}\n');
    const complete = await runOps(['export-audit', ...window, '--out', out], env());
    expect(complete.code).toBe(0);
    expect(readdirSync(dirname(out))).toEqual(['audit.ndjson']);
    const { rows } = await readDb.db
      .selectFrom('rm_audit_events')
      .select((e) => e.fn.countAll<number>().as('rows'))
      .executeTakeFirstOrThrow();
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(Number(rows));
  }, 120_000);

  it('a live scrub during the build, after the new generation holds its rows, reaches the generation the switch-over installs; the replay also repairs the drift injected above', async () => {
    const target = await readDb.db
      .selectFrom('rm_audit_events')
      .select(['position', 'subscription_id'])
      .where('personal', '=', 1)
      .where('subscription_id', 'is not', null)
      .orderBy('position')
      .limit(1)
      .executeTakeFirstOrThrow();
    const subscriptionId = target.subscription_id!;
    const rowsOf = () =>
      readDb.db
        .selectFrom('rm_audit_events')
        .select(['position', 'data', 'personal', 'scrubbed'])
        .where('subscription_id', '=', subscriptionId)
        .orderBy('position')
        .execute();
    expect((await rowsOf()).some((r) => r.personal === 1)).toBe(true);
    const before = sqlitePointer(dataDir);

    let scrubbedLive: Awaited<ReturnType<typeof rowsOf>>;
    // The new generation's copy of the target row: null until the build has written it.
    const builtRow = (): { personal: number } | null => {
      const dir = sqliteGenerationsLeft(dataDir)[0];
      if (!dir) return null;
      try {
        const built = new Database(join(dataDir, 'read-models', dir, 'read-models.sqlite'), {
          readonly: true,
          fileMustExist: true,
        });
        try {
          return (
            (built
              .prepare('SELECT personal FROM rm_audit_events WHERE position = ?')
              .get(target.position) as { personal: number } | undefined) ?? null
          );
        } finally {
          built.close();
        }
      } catch {
        return null; // not there yet, or being written by the bulk build
      }
    };

    const replay = runOps(['replay', '--json'], env());
    const pid = replay.child.pid!;
    let finished = false;
    void replay.then(() => (finished = true));
    while (!builtRow() && !finished) await new Promise((r) => setTimeout(r, 2));
    expect(finished).toBe(false);
    // Frozen, so the scrub certainly happens before the switch-over.
    await freezeProcess(pid);
    try {
      expect(await readStore.scrubSubscription(subscriptionId)).toBeGreaterThan(0);
      scrubbedLive = await rowsOf();
      expect(scrubbedLive.some((r) => r.personal === 1)).toBe(false);
      // The new generation still holds the row unscrubbed: only the scrub markers can bring
      // the scrub across.
      expect(builtRow()).toEqual({ personal: 1 });
    } finally {
      process.kill(pid, 'SIGCONT');
    }

    const run = await replay;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ swapped: true, replaced: before });
    expect(sqliteGenerationsLeft(dataDir)).toEqual([]);
    // The installed rows are the scrubbed ones, not those built before the scrub.
    expect(await rowsOf()).toEqual(scrubbedLive);
    expect(await verifyReadModels({ log: (await openLog()).raw, readDb })).toMatchObject({
      ok: true,
      driftCount: 0,
    });
  }, 120_000);

  async function openLog() {
    const stores = openEventStores(
      loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    );
    afterAllClose.push(async () => {
      await stores.raw.close();
      await stores.keys.close();
    });
    return stores;
  }
  const afterAllClose: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of afterAllClose) await c();
  });
});
