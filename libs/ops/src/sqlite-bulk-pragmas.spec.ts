import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeTmpDir, removeTmpDir } from '../../../test/support/tmp-dir';
import { journalInMemory } from './sqlite-bulk-pragmas';

describe('journalInMemory (the bulk build files)', () => {
  let dir: string;
  beforeEach(() => (dir = makeTmpDir('bulk-pragmas-')));
  afterEach(() => removeTmpDir(dir));

  const walFile = (): string => {
    const file = join(dir, 'shadow.sqlite');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x)');
    db.close();
    return file;
  };

  it('takes a file out of WAL mode: writes leave no WAL, and a rollback still works', () => {
    const db = new Database(walFile());
    try {
      journalInMemory(db);
      expect(db.pragma('journal_mode', { simple: true })).toBe('memory');
      db.exec('INSERT INTO t VALUES (1)');
      db.exec('BEGIN; INSERT INTO t VALUES (2); ROLLBACK');
      expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(1);
      expect(db.pragma('journal_mode', { simple: true })).toBe('memory');
    } finally {
      db.close();
    }
  });

  it('throws when the file cannot leave WAL mode (another connection has it open)', () => {
    const file = walFile();
    const other = new Database(file);
    other.prepare('SELECT * FROM t').all();
    const db = new Database(file);
    try {
      // SQLITE_BUSY here; any error, as long as the build does not go on in WAL mode.
      expect(() => journalInMemory(db)).toThrow();
    } finally {
      db.close();
      other.close();
    }
  });
});
