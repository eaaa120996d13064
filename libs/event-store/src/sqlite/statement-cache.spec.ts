import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { withStatementCache } from './statement-cache';

interface Db {
  t: { id: number; name: string };
}

describe('withStatementCache', () => {
  let raw: Database.Database;
  let prepared: string[];

  beforeEach(() => {
    raw = new Database(':memory:');
    raw.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    prepared = [];
    const prepare = raw.prepare.bind(raw);
    raw.prepare = (sql: string) => {
      prepared.push(sql);
      return prepare(sql);
    };
  });
  afterEach(() => raw.open && raw.close());

  it('prepares each SQL text once for Kysely, which would prepare it on every query', async () => {
    const db = new Kysely<Db>({
      dialect: new SqliteDialect({ database: withStatementCache(raw) }),
    });
    for (let id = 1; id <= 5; id++)
      await db
        .insertInto('t')
        .values({ id, name: `n${id}` })
        .execute();
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('t').set({ name: 'x' }).where('id', '=', 1).execute();
      await tx.updateTable('t').set({ name: 'y' }).where('id', '=', 2).execute();
    });
    const streamed: number[] = [];
    for await (const row of db.selectFrom('t').select('id').orderBy('id').stream()) {
      streamed.push(row.id);
      if (row.id === 2) break; // an abandoned stream leaves the statement usable
    }
    const all = await db.selectFrom('t').select(['id', 'name']).orderBy('id').execute();

    expect(streamed).toEqual([1, 2]);
    expect(all.map((r) => r.name)).toEqual(['x', 'y', 'n3', 'n4', 'n5']);
    expect(await db.selectFrom('t').select('id').orderBy('id').execute()).toHaveLength(5);
    // insert, begin, update, commit and two selects (the first streamed, then run): six texts,
    // each prepared once over eleven queries.
    expect(prepared).toHaveLength(new Set(prepared).size);
    expect(prepared).toHaveLength(6);
    await db.destroy();
    expect(raw.open).toBe(false);
  });

  it('keeps at most `max` statements, dropping the least recently used', () => {
    const cache = withStatementCache(raw, 2);
    const a = cache.prepare('SELECT 1');
    cache.prepare('SELECT 2');
    expect(cache.prepare('SELECT 1')).toBe(a); // now the most recent
    cache.prepare('SELECT 3'); // drops SELECT 2
    expect(cache.prepare('SELECT 1')).toBe(a);
    cache.prepare('SELECT 2');
    expect(prepared).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 2']);
  });
});
