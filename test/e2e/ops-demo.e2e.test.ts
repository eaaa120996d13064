import { runDemo } from '../../scripts/demo';

/** `npm run demo` runs to completion: the whole lifecycle, refusals, hold, reactivation, receipts. */
describe('npm run demo', () => {
  it('runs the whole lifecycle to completion and prints the audit trail and purge receipts', async () => {
    const lines: string[] = [];
    const started = Date.now();
    const result = await runDemo((l) => lines.push(l));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.refusals.sort()).toEqual([
      'CONTACT_SUPPORT',
      'FORBIDDEN_ROLE',
      'OUTSTANDING_BALANCE',
      'TRIAL_NEEDS_NO_CANCELLATION',
    ]);
    const status = Object.fromEntries(
      Object.entries(result.subscriptions).map(([id, s]) => [id, s.status]),
    );
    expect(status).toEqual({
      sub_meeting: 'purged',
      sub_webinar: 'purged',
      sub_room: 'active', // reactivated inside the grace period: never purged
      sub_connect: 'cancellation_pending', // late notice: one more 15-month term
      sub_dunning: 'purged', // terminated for failed payment at its term end (D8), purged 90 days on
      sub_training: 'purged',
      sub_openvoice: 'purged', // held, purged when the hold was released
    });
    expect(result.subscriptions['sub_openvoice']!.events).toContain('PurgeDeferred');
    expect(result.subscriptions['sub_dunning']!.events).toEqual(
      expect.arrayContaining(['TerminationScheduled', 'SubscriptionExpired', 'ProductDataPurged']),
    );
    expect(result.receipts).toBe(5);
    const out = lines.join('\n');
    expect(out).toContain('NOTICE DEADLINE MISSED');
    expect(out).toContain('terminated: payment_failed');
    expect(out).toContain('Purge receipts (R15)');
    expect(out).toMatch(/2026-02-01 00:00 GMT\+9 {2}SubscriptionExpired/); // Tokyo time
  }, 60_000);
});
