import { retryDelayMs, webhookSettingsFromEnv } from './webhook-settings';
import { webhookUrlProblem } from './webhook-url';

describe('webhook URLs (SSRF care)', () => {
  it.each([
    ['https://hooks.example.com/eol', false, null],
    ['http://hooks.example.com/eol', false, null],
    ['http://127.0.0.1:8080/eol?x=1', false, null],
    ['https://hooks.example.com/eol', true, null],
    ['http://hooks.example.com/eol', true, 'must be https (NODE_ENV=production)'],
    ['ftp://hooks.example.com/eol', false, 'must be http or https'],
    ['file:///etc/passwd', false, 'must be http or https'],
    ['javascript:alert(1)', false, 'must be http or https'],
    ['https://user:pw@hooks.example.com/', false, 'must not carry a user name or password'],
    ['https://user@hooks.example.com/', false, 'must not carry a user name or password'],
    ['https://hooks.example.com/#frag', false, 'must not carry a fragment'],
    ['https://hooks.example.com/x#', false, 'must not carry a fragment'],
    ['/relative', false, 'must be an absolute http or https URL'],
    [`https://hooks.example.com/${'a'.repeat(2100)}`, false, 'must be at most 2048 characters'],
  ])('%s (production: %s) → %s', (url, production, problem) => {
    expect(webhookUrlProblem(url, { production })).toBe(problem);
  });
});

describe('webhook settings and retry delays', () => {
  it('defaults: 10 s timeout, 3 days of retries, 5 s doubling up to 1 h', () => {
    expect(webhookSettingsFromEnv({})).toEqual({
      dispatcher: true,
      timeoutMs: 10_000,
      retryWindowMs: 3 * 86_400_000,
      backoffBaseMs: 5000,
      backoffMaxMs: 3_600_000,
      concurrency: 4,
      pollIntervalMs: 500,
    });
    expect(() => webhookSettingsFromEnv({ WEBHOOK_CONCURRENCY: '0' })).toThrow(
      /WEBHOOK_CONCURRENCY/,
    );
    expect(webhookSettingsFromEnv({ WEBHOOK_DISPATCHER: 'off' }).dispatcher).toBe(false);
  });

  it('doubles from the base, caps, and jitters each delay to 50–100 %', () => {
    const s = { backoffBaseMs: 5000, backoffMaxMs: 3_600_000 };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(s, n, () => 1))).toEqual([
      5000, 10_000, 20_000, 40_000,
    ]);
    expect(retryDelayMs(s, 30, () => 1)).toBe(3_600_000);
    expect(retryDelayMs(s, 1000, () => 1)).toBe(3_600_000);
    expect(retryDelayMs(s, 1, () => 0)).toBe(2500);
    for (let n = 1; n < 40; n++) {
      const d = retryDelayMs(s, n);
      expect(d).toBeGreaterThanOrEqual(Math.min(3_600_000, 5000 * 2 ** (n - 1)) / 2);
      expect(d).toBeLessThanOrEqual(3_600_000);
    }
  });
});
