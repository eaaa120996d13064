import { readFileSync } from 'node:fs';
import {
  AuditReader,
  ReadDb,
  ReadModelProjection,
  ReadStore,
  READ_MODELS_PROJECTION,
} from '@app/read-models';
import { makeTmpDir, removeTmpDir } from '../../../support/tmp-dir';
import { LogDriver, PERSONAL } from './log-driver';

export interface ReadDbFactory {
  open(dataDir: string): Promise<ReadDb>;
  /** Drops what open() created (PostgreSQL: the schema). */
  cleanup(): Promise<void>;
}

/**
 * One contract for the read store, run on SQLite and on PostgreSQL: the same events projected
 * through the same code must give the same answers on both dialects.
 */
export function readStoreContract(factory: () => ReadDbFactory): void {
  let dir: string;
  let driver: LogDriver;
  let readDb: ReadDb;
  let store: ReadStore;
  let projection: ReadModelProjection;
  let reader: AuditReader;
  let db: ReadDbFactory;

  beforeEach(async () => {
    dir = makeTmpDir('rm-contract-');
    driver = new LogDriver(dir);
    db = factory();
    readDb = await db.open(dir);
    store = new ReadStore(readDb);
    projection = new ReadModelProjection(readDb);
    reader = new AuditReader({ keys: driver.stores.keys });
  });
  afterEach(async () => {
    await readDb.close();
    await db.cleanup();
    await driver.close();
    removeTmpDir(dir);
  });

  const projectAll = async (batch = 1000) => {
    const events = await driver.all();
    for (let i = 0; i < events.length; i += batch)
      await projection.apply(events.slice(i, i + batch), READ_MODELS_PROJECTION);
    return events;
  };

  it('migrations are idempotent: opening the same database again changes nothing', async () => {
    const again = await db.open(dir);
    expect(await new ReadStore(again).checkpoint()).toBeNull();
    await again.close();
  });

  it("R16: lists an account's subscriptions with status; pending stays in the active section, expired apart", async () => {
    await driver.register('s_active', 'acc_a');
    await driver.register('s_pending', 'acc_a');
    await driver.register('s_expired', 'acc_a', { autoRenew: false });
    await driver.register('s_other', 'acc_b');
    await driver.cancelSelfService('s_pending');
    await driver.termEnd('s_expired', '2026-02-28T00:00:00.000Z');
    await projectAll();

    const listed = await store.subscriptionsOf('acc_a');
    expect(listed.map((s) => [s.state.subscriptionId, s.state.status, s.section])).toEqual([
      ['s_active', 'active', 'active'],
      ['s_pending', 'cancellation_pending', 'active'],
      ['s_expired', 'expired', 'expired'],
    ]);
    const pending = listed.find((s) => s.state.subscriptionId === 's_pending')!;
    expect(pending.state.expiresAt).toBe('2026-02-27T23:00:00.000Z');
    expect(pending.revision).toBe(2);
    expect(
      (await store.subscriptionsOf('acc_a', ['expired'])).map((s) => s.state.subscriptionId),
    ).toEqual(['s_expired']);
    expect(await store.subscriptionsOf('acc_none')).toEqual([]);
  });

  it('projects each event once however often it is delivered (at-least-once subscription)', async () => {
    await driver.register('s1', 'acc_a', { contract: true });
    await driver.cancelSupport('s1');
    const events = await driver.all();
    const first = await projection.apply(events, READ_MODELS_PROJECTION);
    const again = await projection.apply(events, READ_MODELS_PROJECTION);
    await projection.apply(events.slice(1), READ_MODELS_PROJECTION);
    expect(first).toMatchObject({ events: 3, auditRows: 3, confirmations: 1 });
    expect(again).toMatchObject({ auditRows: 0, confirmations: 0 });
    expect((await store.auditRows({}, { limit: 100 })).length).toBe(3);
    const [s] = await store.subscriptionsOf('acc_a');
    expect([s!.state.status, s!.revision]).toEqual(['cancellation_pending', 2]);
    expect(await store.checkpoint()).toBe(events.at(-1)!.position);
  });

  it('the checkpoint never moves back', async () => {
    await driver.register('s1', 'acc_a');
    await driver.register('s2', 'acc_a');
    const events = await driver.all();
    await projection.apply(events, READ_MODELS_PROJECTION);
    await projection.apply(events.slice(0, 1), READ_MODELS_PROJECTION);
    expect(await store.checkpoint()).toBe(events[1]!.position);
  });

  it('R17: audit rows keep personal data encrypted at rest; shown decrypted while the key exists, [erased] after', async () => {
    await driver.register('s1', 'acc_a', { contract: true });
    await driver.cancelSupport('s1');
    await projectAll();
    const rows = await store.auditRows({ types: ['CancellationRequested'] }, { limit: 10 });
    expect(rows).toHaveLength(1);
    for (const secret of Object.values(PERSONAL)) expect(rows[0]!.data).not.toContain(secret);
    if (readDb.file) {
      await readDb.compact();
      const bytes = readFileSync(readDb.file).toString('latin1');
      for (const secret of [PERSONAL.email, PERSONAL.address, PERSONAL.comment])
        expect(bytes).not.toContain(secret);
    }
    const [shown] = await reader.toEvents(rows);
    expect(shown!.data).toMatchObject({
      verification: {
        billingAdminEmail: PERSONAL.email,
        paymentLast4: PERSONAL.last4,
        billingAddress: PERSONAL.address,
      },
      survey: { reason: 'other', comment: PERSONAL.comment },
    });

    await driver.stores.keys.destroyAccount('acc_a');
    const [erased] = await reader.toEvents(rows);
    expect(erased!.data).toMatchObject({
      verification: {
        billingAdminEmail: '[erased]',
        paymentLast4: '[erased]',
        billingAddress: '[erased]',
      },
      survey: { reason: 'other', comment: '[erased]' },
      // The structure of the audit trail stays.
      subscriptionId: 's1',
      channel: 'support',
    });
  });

  it('scrubSubscription / scrubAccount blank the encrypted fields, count the scrubbed rows (the same count when called again), and stay in force for rows projected later', async () => {
    await driver.register('s1', 'acc_a');
    await driver.register('s2', 'acc_a');
    await driver.cancelSupport('s1');
    await driver.placeHold('acc_a');
    await projectAll();

    expect(await store.scrubSubscription('s1')).toBe(1);
    // Again (a purge resumed after a crash before its receipt): the same count, nothing changed.
    expect(await store.scrubSubscription('s1')).toBe(1);
    const [row] = await store.auditRows(
      { subscriptionId: 's1', types: ['CancellationRequested'] },
      { limit: 1 },
    );
    expect(row!.data).not.toContain('$pd');
    const [shown] = await reader.toEvents([row!]);
    expect(shown!.data).toMatchObject({ verification: { billingAdminEmail: '[erased]' } });

    // The account's own stream (hold reason) is scrubbed by the account scrub; the count covers
    // every scrubbed row of the account (s1's, scrubbed above, too).
    expect(await store.scrubAccount('acc_a')).toBe(2);
    // A row projected after the scrub (the projection was behind) arrives scrubbed.
    await driver.cancelSupport('s2');
    await projectAll();
    const late = await store.auditRows(
      { subscriptionId: 's2', types: ['CancellationRequested'] },
      { limit: 1 },
    );
    expect(late[0]!.data).not.toContain('$pd');
    expect(late[0]!.scrubbed).toBe(1);
  });

  it('R16: a confirmation is recorded for contract customers only, once per cancellation event', async () => {
    await driver.register('s_contract', 'acc_c', { contract: true, plan: { kind: 'annual' } });
    await driver.register('s_plain', 'acc_c');
    await driver.cancelSupport('s_contract');
    await driver.cancelSelfService('s_plain');
    await projectAll(1);
    await projectAll(2);
    const outbox = await store.confirmationsOf('acc_c', { limit: 10 });
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({
      subscription_id: 's_contract',
      status: 'pending',
      subject: 'Cancellation of goto-meeting recorded',
    });
    for (const secret of Object.values(PERSONAL)) expect(outbox[0]!.body).not.toContain(secret);
    expect(await store.dueConfirmations(new Date().toISOString(), 10)).toHaveLength(1);
    await store.markConfirmationFailed(outbox[0]!.event_id, 'boom', '2999-01-01T00:00:00.000Z');
    expect(await store.dueConfirmations(new Date().toISOString(), 10)).toHaveLength(0);
    await store.markConfirmationDelivered(outbox[0]!.event_id, '2026-02-10T09:00:01.000Z');
    expect((await store.confirmationsOf('acc_c', { limit: 10 }))[0]).toMatchObject({
      status: 'delivered',
      attempts: 2,
    });
  });

  it('R15: a purge receipt per ProductDataPurged, with what, where, when and by which job', async () => {
    await driver.register('s1', 'acc_a', { autoRenew: false });
    await driver.termEnd('s1', '2026-02-28T00:00:00.000Z');
    await driver.purge('s1', '2026-05-29T00:00:00.000Z');
    await projectAll();
    const receipts = await store.purgeReceipts({}, { limit: 10 });
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({
      subscription_id: 's1',
      account_id: 'acc_a',
      purge_id: 'purge-s1',
      channel: 'system',
    });
    expect(JSON.parse(receipts[0]!.receipt)).toMatchObject({
      purgeId: 'purge-s1',
      itemsDeleted: 3,
      holders: [{ holder: 'local', location: 'file://var/product-data' }],
    });
    expect(await store.purgeReceipts({ from: '2026-05-30T00:00:00.000Z' }, { limit: 10 })).toEqual(
      [],
    );
    expect(
      await store.purgeReceipts(
        { to: '2026-05-30T00:00:00.000Z', accountId: 'acc_a' },
        { limit: 10 },
      ),
    ).toHaveLength(1);
    const [listed] = await store.subscriptionsOf('acc_a');
    expect([listed!.state.status, listed!.section]).toEqual(['purged', 'expired']);
  });

  it('D3: the account stream feeds the legal hold shown with each subscription', async () => {
    await driver.register('s1', 'acc_h');
    await driver.placeHold('acc_h');
    await projectAll();
    expect((await store.subscriptionsOf('acc_h'))[0]!.legalHold).toBe(true);
  });

  it('audit filters and keyset pages: oldest first, every row once', async () => {
    for (let i = 0; i < 7; i++) await driver.register(`s${i}`, i % 2 ? 'acc_odd' : 'acc_even');
    await driver.cancelSelfService('s1');
    await driver.cancelSelfService('s2');
    const events = await projectAll(3);

    const all: bigint[] = [];
    let after: bigint | null = null;
    for (;;) {
      const page = await store.auditRows({}, { after, limit: 4 });
      if (page.length === 0) break;
      all.push(...page.map((r) => BigInt(r.position)));
      after = BigInt(page.at(-1)!.position);
    }
    expect(all).toEqual(events.map((e) => e.position));

    expect(
      (await store.auditRows({ accountId: 'acc_odd' }, { limit: 100 })).map(
        (r) => r.subscription_id,
      ),
    ).toEqual(['s1', 's3', 's5', 's1', 's1']);
    expect(
      (
        await store.auditRows(
          { subscriptionId: 's2', types: ['AutoRenewDisabled', 'CancellationRequested'] },
          { limit: 100 },
        )
      ).map((r) => r.type),
    ).toEqual(['CancellationRequested', 'AutoRenewDisabled']);
    expect((await store.auditRows({ actorId: 'usr_admin' }, { limit: 100 })).length).toBe(
      events.length,
    );
    expect(await store.auditRows({ actorId: 'nobody' }, { limit: 100 })).toEqual([]);
    expect(await store.auditRows({ from: '2026-02-10T09:00:00.001Z' }, { limit: 100 })).toEqual([]);
    expect(
      (
        await store.auditRows(
          { from: '2026-02-10T09:00:00.000Z', to: '2026-02-10T09:00:00.001Z' },
          { limit: 100 },
        )
      ).length,
    ).toBe(events.length);
    expect((await store.auditRows({}, { upTo: events[2]!.position, limit: 100 })).length).toBe(3);
    expect(await store.auditHead()).toBe(events.at(-1)!.position);
  });
}
