import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { TOKENS } from '../support/app-harness';
import {
  driveToPurged,
  type EndOfLifeWorld,
  PERSONAL_DATA,
  startEndOfLifeWorld,
} from './support/end-of-life-certificate.scenario';

/**
 * D11: the printable end-of-life certificate in a real browser (Debian's Chromium, driven by
 * playwright-core), served by the real app over real HTTP. The screenshot and the PDF are kept
 * under var/test-artifacts/ (gitignored) for a person to look at.
 *
 * CI installs Chromium (.ci/run); without it this test fails, saying so: it is never skipped.
 */

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
// The machines' network is closed: without these Chromium hangs on background connections.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = resolve(__dirname, '../../var/test-artifacts');
const ID = 'sub_eol_browser';
const ACC = 'acc_eol_browser';

describe('D11: the end-of-life certificate page in a real browser', () => {
  let w: EndOfLifeWorld;
  let browser: Browser;
  let page: Page;
  let base = '';
  let html = '';
  const requested: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `Chromium is not at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH. This test is not skipped without it.`,
      );
    w = await startEndOfLifeWorld();
    await driveToPurged(w, ID, ACC);
    await w.t.app.listen(0, '127.0.0.1');
    base = await w.t.app.getUrl();
    base = base.replace('[::1]', '127.0.0.1');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
    const context = await browser.newContext({
      extraHTTPHeaders: { authorization: `Bearer ${TOKENS.auditor}`, accept: 'text/html' },
      viewport: { width: 1000, height: 1200 },
      javaScriptEnabled: false,
    });
    page = await context.newPage();
    page.on('request', (r) => requested.push(r.url()));
    const res = await page.goto(`${base}/v1/subscriptions/${ID}/end-of-life-certificate`, {
      waitUntil: 'load',
    });
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
    html = await page.content();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await w?.close();
  });

  it('D11: the visible text holds the key facts: subscription, who/when/channel, expiry, the hold, each holder, keys shredded, verified, the signature', async () => {
    const text = await page.innerText('body');
    const answer = await fetch(`${base}/v1/subscriptions/${ID}/end-of-life-certificate`, {
      headers: { authorization: `Bearer ${TOKENS.auditor}` },
    });
    const raw = await answer.text();
    // The JSON variant beside the page, and the key that checks it, for people (and openssl).
    writeFileSync(join(ARTIFACTS, 'end-of-life-certificate.json'), raw);
    const keys = await fetch(`${base}/v1/audit/receipt-keys`, {
      headers: { authorization: `Bearer ${TOKENS.auditor}` },
    });
    const { keys: list } = (await keys.json()) as { keys: { publicKey: string }[] };
    writeFileSync(join(ARTIFACTS, 'receipt-key.pem'), list[0]!.publicKey);
    const json = JSON.parse(raw) as {
      deferral: { holds: { holdId: string }[] };
      receipt: { receiptId: string; hash: string };
      signature: { kid: string; value: string };
      purge: { keysShredded: string[] };
    };
    expect(await page.title()).toBe(`End-of-life certificate · ${ID}`);
    for (const fact of [
      ID,
      ACC,
      'GoTo Meeting',
      'Cancelled by the customer',
      'agent_7 (billing administrator)',
      'customer support (an agent acting for the customer)',
      // The dates in the account's zone (Rome): cancelled on 10 February, access ended at
      // midnight of 28 February, purge due 90 days later, deleted after the hold's release.
      '10 February 2026, 10:00',
      'Access ended',
      '28 February 2026, 00:00',
      '29 May 2026, 00:00',
      'Legal hold',
      json.deferral.holds[0]!.holdId,
      'local',
      'recordings',
      ...json.purge.keysShredded,
      'Verified',
      'still held 2 item(s)',
      json.receipt.receiptId,
      json.receipt.hash,
      json.signature.kid,
      json.signature.value,
      'GET /v1/audit/receipt-keys',
    ])
      expect([fact, text.includes(fact)]).toEqual([fact, true]);
  });

  it('D11: no personal datum on the page; nothing loaded but the page itself, no script', async () => {
    for (const personal of PERSONAL_DATA) {
      expect(html).not.toContain(personal);
      expect(await page.innerText('body')).not.toContain(personal);
    }
    expect(requested).toEqual([`${base}/v1/subscriptions/${ID}/end-of-life-certificate`]);
    expect(await page.locator('script, link, img, iframe, object').count()).toBe(0);
  });

  it('D11: it prints on one or two A4 pages; the screenshot and the PDF are kept for people to look at', async () => {
    await page.screenshot({ path: join(ARTIFACTS, 'end-of-life-certificate.png'), fullPage: true });
    // As printed: print styles, the width of an A4 page (794 CSS px at 96 dpi) less its margins.
    await page.emulateMedia({ media: 'print' });
    await page.setViewportSize({ width: 704, height: 1000 });
    await page.screenshot({
      path: join(ARTIFACTS, 'end-of-life-certificate.print.png'),
      fullPage: true,
    });
    const pdf = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
    writeFileSync(join(ARTIFACTS, 'end-of-life-certificate.pdf'), pdf);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page(?!s)/g)?.length ?? 0;
    expect(pages).toBeGreaterThanOrEqual(1);
    expect(pages).toBeLessThanOrEqual(2);
  });
});
