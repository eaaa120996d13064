import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { Client } from 'pg';
import { type ClockStore, ClockBackwardsError, ControlledClock } from '@app/platform';
import { PostgresClockStore, SqliteClockStore } from '@app/infrastructure';
import { testPgUrl } from '../../support/postgres-url';
import { useTmpDir } from '../../support/tmp-dir';

const at = (iso: string): DateTime => DateTime.fromISO(iso, { zone: 'utc' });

describe.each([
  ['SQLite under DATA_DIR', 'sqlite'],
  ['PostgreSQL', 'pg'],
] as const)('the controlled clock on a shared store (%s)', (_label, kind) => {
  const tmp = useTmpDir('clock-store-');
  const schemas: string[] = [];
  let location = '';
  beforeEach(() => {
    if (kind === 'sqlite') location = join(tmp(), 'controlled-clock.sqlite');
    else {
      const schema = `clock_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      schemas.push(schema);
      location = `${testPgUrl()}?schema=${schema}`;
    }
  });
  afterAll(async () => {
    if (schemas.length === 0) return;
    const client = new Client({ connectionString: testPgUrl() });
    await client.connect();
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await client.end();
  });
  const open = (): ClockStore =>
    kind === 'sqlite' ? new SqliteClockStore(location) : new PostgresClockStore(location);

  it('a move through one process is what every other process reads after sync(), and a restart resumes from it', async () => {
    const [s1, s2] = [open(), open()];
    const api1 = await ControlledClock.resume(s1, '2026-01-01T00:00:00Z');
    const api2 = await ControlledClock.resume(s2, '2025-06-01T00:00:00Z');
    // The second process found a reading: its own start is ignored.
    expect(api2.now().toISO()).toBe('2026-01-01T00:00:00.000Z');
    await api1.advanceTo('2026-02-01T00:00:00Z');
    expect(api2.now().toISO()).toBe('2026-01-01T00:00:00.000Z'); // not yet synced: lags, never leads
    expect((await api2.sync()).toISO()).toBe('2026-02-01T00:00:00.000Z');
    await api1.close();
    await api2.close();
    // "Restart": a fresh process on the same store with an older CLOCK_START.
    const restarted = await ControlledClock.resume(open(), '2026-01-01T00:00:00Z');
    expect(restarted.now().toISO()).toBe('2026-02-01T00:00:00.000Z');
    await restarted.close();
  });

  it('never starts earlier than the last event already in the log (a real-time log switched to the controlled clock)', async () => {
    const first = await ControlledClock.resume(
      open(),
      '2026-01-01T00:00:00Z',
      '2026-12-07T02:30:00.000Z',
    );
    expect(first.now().toISO()).toBe('2026-12-07T02:30:00.000Z');
    await first.advanceTo('2027-01-01T00:00:00Z');
    await first.close();
    // A stored reading later than the last event wins over it.
    const again = await ControlledClock.resume(
      open(),
      '2026-01-01T00:00:00Z',
      '2026-12-07T02:30:00.000Z',
    );
    expect(again.now().toISO()).toBe('2027-01-01T00:00:00.000Z');
    await again.close();
  });

  it('refuses a move behind a reading another process stored, and moves nothing', async () => {
    const [s1, s2] = [open(), open()];
    const a = await ControlledClock.resume(s1, '2026-01-01T00:00:00Z');
    const b = await ControlledClock.resume(s2, '2026-01-01T00:00:00Z');
    await a.advanceTo('2026-03-01T00:00:00Z');
    // b has not synced, yet the move back is refused against the stored reading.
    await expect(b.advanceTo('2026-02-01T00:00:00Z')).rejects.toBeInstanceOf(ClockBackwardsError);
    expect((await s1.load())!.toISO()).toBe('2026-03-01T00:00:00.000Z');
    await expect(s2.moveTo(at('2026-02-15T00:00:00Z'))).rejects.toBeInstanceOf(ClockBackwardsError);
    await a.close();
    await b.close();
  });

  it('concurrent moves from two processes leave the latest reading, never an earlier one', async () => {
    const [s1, s2] = [open(), open()];
    const targets = Array.from({ length: 20 }, (_, i) =>
      at('2026-01-01T00:00:00Z').plus({ days: i }),
    );
    const results = await Promise.allSettled(
      targets.map((t, i) => (i % 2 === 0 ? s1 : s2).moveTo(t)),
    );
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
    expect((await s1.load())!.toISO()).toBe(targets[targets.length - 1]!.toISO());
    await s1.close();
    await s2.close();
  });
});
