import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PurgeProcess } from '@app/purge';
import { ReceiptSigner } from '@app/read-models';
import {
  advanceTo,
  auth,
  processTermEnd,
  registrationBody,
  startApp,
  type TestApp,
  TOKENS,
} from '../support/app-harness';
import { runOps } from '../integration/ops/ops-cli';

/**
 * D11 end to end: real purges (several at once) on the real app, the NDJSON export of the
 * receipts from the API, checked offline by `ops verify-receipts` as a real process with the
 * public key of GET /v1/audit/receipt-keys; then real exports tampered with in each way; then a
 * replay (a real `ops replay` process) that makes the same receipts and chain again.
 */
describe('D11: signed, chained purge receipts checked offline', () => {
  let t: TestApp;
  const COUNT = 6;
  let exportText = '';
  let keyFile = '';

  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: auth(TOKENS.auditor) });
  const exportNdjson = async () => {
    const head = (await t.raw.headPosition())!.toString();
    const res = await get(`/v1/audit/purges?format=ndjson&minPosition=${head}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/x-ndjson/);
    return res.body;
  };
  const file = (name: string, text: string) => {
    const path = join(t.dataDir, name);
    writeFileSync(path, text);
    return path;
  };
  const verify = (path: string) =>
    runOps(['verify-receipts', path, '--public-key', keyFile], { DATA_DIR: t.dataDir });

  beforeAll(async () => {
    t = await startApp({ logLevel: 'warn' });
    const ids = Array.from({ length: COUNT }, (_, i) => `d11_${i}`);
    let expiresAt = '';
    for (const id of ids) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/v1/subscriptions',
        headers: auth(TOKENS.writer),
        payload: registrationBody({ accountId: 'acc_d11', subscriptionId: id, autoRenew: false }),
      });
      expect(r.statusCode).toBe(201);
      expiresAt = r.json<{ expiresAt: string }>().expiresAt;
    }
    for (const id of ids) await processTermEnd(t, id, expiresAt);
    const purgeAt = (
      await t.app.inject({
        method: 'GET',
        url: `/v1/subscriptions/${ids[0]}`,
        headers: auth(TOKENS.reader),
      })
    ).json<{ purgeAt: string }>().purgeAt;
    await advanceTo(t, purgeAt);
    // The purges at once, as several purge jobs run them: no lock orders them, the log does.
    const outcomes = await Promise.all(
      ids.map((id) =>
        t.app.get(PurgeProcess).run(id, {
          commandId: null,
          requestHash: null,
          correlationId: `corr-${id}`,
          causationId: `job-purge-${id}`,
          actor: null,
          channel: 'system',
        }),
      ),
    );
    for (const o of outcomes) expect(o).toMatchObject({ status: 'purged' });
    exportText = await exportNdjson();
    const keys = (await get('/v1/audit/receipt-keys')).json<{
      keys: { kid: string; alg: string; publicKey: string; createdAt: string | null }[];
    }>().keys;
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ alg: 'Ed25519', kid: expect.stringMatching(/^[0-9a-f]{16}$/) });
    keyFile = file('receipt-key.pem', keys[0]!.publicKey);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('D11: the receipts are signed and form one sequence 1..n in log order; the export ends with a signed head', async () => {
    const page = (await get('/v1/audit/purges?accountId=acc_d11')).json<{
      items: {
        receiptId: string;
        sequence: number;
        previousHash: string;
        position: string;
        verified: boolean;
        receipt: { verification?: { holders: { holder: string; remainingItems: number }[] } };
        signature: { alg: string; kid: string; value: string };
      }[];
    }>().items;
    expect(page.map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(page[0]!.previousHash).toBe('0'.repeat(64));
    for (const r of page) {
      // D11: every holder (here the local one) was asked after deleting and found nothing left.
      expect(r.verified).toBe(true);
      expect(r.receipt.verification?.holders).toEqual([
        expect.objectContaining({ holder: 'local', remainingItems: 0, method: 'marker_scan' }),
      ]);
      expect(r.signature).toMatchObject({ alg: 'Ed25519', value: expect.any(String) });
    }
    const lines = exportText.trimEnd().split('\n');
    expect(lines).toHaveLength(COUNT + 1);
    expect(lines.slice(0, COUNT).map((l) => JSON.parse(l))).toEqual(page);
    expect(JSON.parse(lines[COUNT]!)).toMatchObject({ type: 'ReceiptChainHead', count: COUNT });
  });

  it('D11: ops verify-receipts accepts the export (exit 0) and names the first bad receipt of each tampered copy (exit 1)', async () => {
    const lines = exportText.trimEnd().split('\n');
    const receipts = lines.slice(0, COUNT).map((l) => JSON.parse(l) as Record<string, unknown>);
    const id = (i: number) => receipts[i]!['receiptId'] as string;
    const text = (ls: string[]) => `${ls.join('\n')}\n`;

    const other = new ReceiptSigner(generateKeyPairSync('ed25519').privateKey);
    const forged = [...lines];
    const { signature: _old, ...unsigned } = receipts[2]!;
    forged[2] = JSON.stringify({ ...unsigned, signature: other.sign(unsigned) });

    const altered = [...lines];
    altered[3] = JSON.stringify({ ...receipts[3], productId: 'goto-webinar' });

    const dropped = [...lines];
    dropped.splice(1, 1);

    const swapped = [...lines];
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];

    const truncated = lines.slice(0, COUNT - 1);

    const [ok, ...bad] = await Promise.all([
      verify(file('export.ndjson', exportText)),
      verify(file('forged.ndjson', text(forged))),
      verify(file('altered.ndjson', text(altered))),
      verify(file('dropped.ndjson', text(dropped))),
      verify(file('swapped.ndjson', text(swapped))),
      verify(file('truncated.ndjson', text(truncated))),
    ]);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toMatch(new RegExp(`OK: ${COUNT} receipts`));
    const expected = [
      `line 3 (receipt ${id(2)}): forged`,
      `line 4 (receipt ${id(3)}): altered`,
      `line 2 (receipt ${id(2)}): missing`,
      `line 3 (receipt ${id(3)}): reordered`,
      `line ${COUNT}: truncated`,
    ];
    bad.forEach((run, i) => {
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(expected[i]);
    });
  }, 120_000);

  it('D11: a replay (ops replay, a real process) makes the same receipts and chain; ops verify agrees', async () => {
    const env = { DATA_DIR: t.dataDir };
    const dry = await runOps(['replay', '--dry-run', '--json'], env);
    expect(dry.code).toBe(0);
    const report = JSON.parse(dry.stdout) as {
      identical: boolean;
      tables: Record<string, { equal: boolean; live: { rows: number } }>;
    };
    expect(report.identical).toBe(true);
    expect(report.tables['rm_purge_receipts']).toMatchObject({
      equal: true,
      live: { rows: COUNT },
    });
    const replay = await runOps(['replay', '--json'], env);
    expect(replay.code).toBe(0);
    expect(await exportNdjson()).toBe(exportText);
    const verified = await runOps(['verify', '--json'], env);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, receipts: COUNT });
  }, 120_000);

  it('D11: the NDJSON export is the whole chain: filters are refused', async () => {
    const res = await get('/v1/audit/purges?format=ndjson&accountId=acc_d11');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });
});
