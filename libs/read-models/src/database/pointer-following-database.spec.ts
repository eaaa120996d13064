import Database from 'better-sqlite3';
import { PointerFollowingDatabase, UNRESOLVED_GENERATION } from './pointer-following-database';

describe('PointerFollowingDatabase', () => {
  let sqlite: Database.Database;
  const T = `"${UNRESOLVED_GENERATION}"."t"`;

  beforeEach(() => {
    sqlite = new Database(':memory:');
    sqlite.exec(`ATTACH ':memory:' AS g1`);
    sqlite.exec(`CREATE TABLE main.t (v TEXT); INSERT INTO main.t VALUES ('base')`);
    sqlite.exec(`CREATE TABLE g1.t (v TEXT); INSERT INTO g1.t VALUES ('g1')`);
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
    expect(db.prepare('select v from g1.t').all([])).toEqual([{ v: 'g1' }]);
  });

  it('prepares again on the new generation when the tables it read the pointer for were dropped before the prepare', () => {
    sqlite.exec('DROP TABLE main.t');
    const db = new PointerFollowingDatabase(sqlite, pointer(null, 'g1'));
    expect(db.prepare(`select v from ${T}`).all([])).toEqual([{ v: 'g1' }]);
  });

  it('runs again on the new generation when the tables were dropped between the prepare and the run', () => {
    const db = new PointerFollowingDatabase(sqlite, pointer(null, 'g1'));
    const read = db.prepare(`select v from ${T}`);
    const write = new PointerFollowingDatabase(sqlite, pointer(null, 'g1')).prepare(
      `insert into ${T} (v) values (?)`,
    );
    sqlite.exec('DROP TABLE main.t');
    expect(read.all([])).toEqual([{ v: 'g1' }]);
    write.run(['new']);
    expect(sqlite.prepare('select v from g1.t order by v').all()).toEqual([
      { v: 'g1' },
      { v: 'new' },
    ]);
  });

  it('a missing table with the pointer where it was, or any other error, is thrown as it is', () => {
    const moved = new PointerFollowingDatabase(sqlite, pointer(null, 'g1'));
    expect(() => moved.prepare(`select nope from ${T}`)).toThrow('no such column: nope');
    // (Unqualified, a name missing from main would be looked up in the attached files.)
    sqlite.exec('DETACH g1');
    sqlite.exec('DROP TABLE main.t');
    const db = new PointerFollowingDatabase(sqlite, () => null);
    expect(() => db.prepare(`select v from ${T}`)).toThrow('no such table: t');
  });
});
