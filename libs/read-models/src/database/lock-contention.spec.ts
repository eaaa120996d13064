import { join } from 'node:path';
import Database from 'better-sqlite3';
import { useTmpDir } from '../../../../test/support/tmp-dir';
import { isLockContention } from './lock-contention';

describe('isLockContention', () => {
  const dir = useTmpDir('lock-contention-');

  it('recognises a real SQLITE_BUSY from a writer blocked by another connection', () => {
    const file = join(dir(), 'db.sqlite');
    const holder = new Database(file);
    const blocked = new Database(file, { timeout: 0 });
    try {
      holder.pragma('journal_mode = WAL');
      holder.exec('CREATE TABLE t (x)');
      holder.exec('BEGIN IMMEDIATE');
      let error: unknown;
      try {
        blocked.exec('INSERT INTO t VALUES (1)');
      } catch (e) {
        error = e;
      }
      expect(isLockContention(error)).toBe(true);
      holder.exec('ROLLBACK');
    } finally {
      blocked.close();
      holder.close();
    }
  });

  it('recognises PostgreSQL lock timeouts and deadlocks, and nothing else', () => {
    expect(isLockContention({ code: '55P03' })).toBe(true);
    expect(isLockContention({ code: '40P01' })).toBe(true);
    expect(isLockContention({ code: 'SQLITE_CORRUPT' })).toBe(false);
    expect(isLockContention({ code: '23505' })).toBe(false);
    expect(isLockContention(new Error('disk full'))).toBe(false);
    expect(isLockContention(null)).toBe(false);
  });
});
