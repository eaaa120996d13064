import Database from 'better-sqlite3';
import { PointerFollowingDatabase, UNRESOLVED_GENERATION } from './pointer-following-database';

describe('PointerFollowingDatabase', () => {
  let sqlite: Database.Database;
  const T = `"${UNRESOLVED_GENERATION}"."t"`;

  beforeEach(() => {
    sqlite = new Database(':memory:');
    sqlite.exec(`CREATE TABLE main.t (v TEXT); INSERT INTO main.t VALUES ('base')`);
    for (const g of ['g1', 'g2']) {
      sqlite.exec(`ATTACH ':memory:' AS ${g}`);
      sqlite.exec(`CREATE TABLE ${g}.t (v TEXT); INSERT INTO ${g}.t VALUES ('${g}')`);
    }
  });
  afterEach(() => sqlite.close());

  /** The pointer as a list of readings, one per call (the last one repeats). */
  const pointer = (...readings: (string | null)[]) => {
    let call = 0;
    return () => readings[Math.min(call++, readings.length - 1)]!;
  };

  it('names the generation the pointer names when the statement is prepared, the base tables unqualified', () => {
    let now: string | null = null;
    const db = new PointerFollowingDatabase(sqlite, () => now);
    const query = `select v from ${T}`;
    expect(db.prepare(query).all([])).toEqual([{ v: 'base' }]);
    now = 'g1';
    expect(db.prepare(query).all([])).toEqual([{ v: 'g1' }]);
    // SQL without the mark is prepared as written.
    expect(db.prepare('select v from g2.t').all([])).toEqual([{ v: 'g2' }]);
  });

  it('prepares again on the new generation when the tables it read the pointer for were dropped before the prepare', () => {
    sqlite.exec('DROP TABLE g1.t');
    const db = new PointerFollowingDatabase(sqlite, pointer('g1', 'g2'));
    expect(db.prepare(`select v from ${T}`).all([])).toEqual([{ v: 'g2' }]);
  });

  it('runs again on the new generation when the tables were dropped between the prepare and the run', () => {
    const read = new PointerFollowingDatabase(sqlite, pointer('g1', 'g2')).prepare(
      `select v from ${T}`,
    );
    const write = new PointerFollowingDatabase(sqlite, pointer('g1', 'g2')).prepare(
      `insert into ${T} (v) values (?)`,
    );
    sqlite.exec('DROP TABLE g1.t');
    expect(read.all([])).toEqual([{ v: 'g2' }]);
    write.run(['new']);
    expect(sqlite.prepare('select v from g2.t order by v').all()).toEqual([
      { v: 'g2' },
      { v: 'new' },
    ]);
  });

  it('a missing table with the pointer where it was, or any other error, is thrown as it is', () => {
    const moved = new PointerFollowingDatabase(sqlite, pointer('g1', 'g2'));
    expect(() => moved.prepare(`select nope from ${T}`)).toThrow('no such column: nope');
    sqlite.exec('DROP TABLE g1.t');
    const db = new PointerFollowingDatabase(sqlite, () => 'g1');
    expect(() => db.prepare(`select v from ${T}`)).toThrow('no such table: g1.t');
  });
});
