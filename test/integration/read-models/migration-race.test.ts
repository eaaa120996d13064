import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { ReadDb } from '@app/read-models';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';
import { dropSchema, freshSchema, PG_URL, urlWithSchema } from './support/postgres';

const ROOT = resolve(__dirname, '..', '..', '..');
const CHILD = join(__dirname, 'migration-race-child.ts');
/** Processes opening the same fresh database at once (the machine has 2 cores). */
const PROCESSES = 4;
/**
 * Fresh databases raced, the same children each time. SQLite gets more: one of its races (two
 * processes switching a fresh file to WAL) only shows in about one round in ten.
 */
const ROUNDS = { sqlite: 10, postgres: 4 };

/** A migration-race-child.ts process: one line of output per GO. */
class Opener {
  readonly ready: Promise<void>;
  stderr = '';
  private readonly child: ChildProcess;
  private readonly waiting: ((line: string) => void)[] = [];
  private buffer = '';

  constructor() {
    this.child = spawn(process.execPath, ['-r', './test/support/swc-register.js', CHILD], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'test' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      onReady = res;
      onFail = rej;
    });
    this.child.on('exit', (code) => onFail(new Error(`child exited ${code}: ${this.stderr}`)));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (c: string) => (this.stderr += c));
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line === 'READY') onReady();
        else this.waiting.shift()?.(line);
      }
    });
  }

  /** Opens the database at `at` (epoch ms); resolves to `OK` or `ERR <message>`. */
  open(at: number, dataDir: string, readDbUrl?: string): Promise<string> {
    const result = new Promise<string>((r) => this.waiting.push(r));
    this.child.stdin!.write(`GO ${at} ${dataDir}${readDbUrl ? ` ${readDbUrl}` : ''}\n`);
    return result;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** Every opener opens the same database at the same instant, 300 ms from now. */
async function race(openers: Opener[], dataDir: string, readDbUrl?: string): Promise<string[]> {
  const at = Date.now() + 300;
  return Promise.all(openers.map((o) => o.open(at, dataDir, readDbUrl)));
}

/**
 * The api and the worker (and their replicas) open the read database when they start; on a
 * fresh database they all find it unmigrated at once. Each round: PROCESSES child processes open
 * the same fresh database at the same instant; all must succeed and leave exactly the schema a
 * lone process creates, with the migration recorded once.
 */
describe('read-model migrations: processes opening a fresh read database at the same instant', () => {
  let openers: Opener[] = [];

  beforeAll(async () => {
    openers = Array.from({ length: PROCESSES }, () => new Opener());
    await Promise.all(openers.map((o) => o.ready));
  }, 60_000);

  afterAll(() => openers.forEach((o) => o.kill()));

  describe('SQLite (DATA_DIR)', () => {
    const dirs: string[] = [];
    const dir = (): string => {
      const d = makeTmpDir('rm-race-');
      dirs.push(d);
      return d;
    };
    afterAll(() => dirs.forEach(removeTmpDir));

    /** Tables, indexes and their DDL, as SQLite stores them. */
    const sqliteSchema = (dataDir: string) => {
      const db = new Database(join(dataDir, 'read-models.sqlite'), { readonly: true });
      try {
        return {
          objects: db
            .prepare(
              "select type, name, tbl_name, sql from sqlite_master where name not like 'sqlite_stat%' order by type, name",
            )
            .all(),
          migrations: db.prepare('select name from rm_migrations').all(),
        };
      } finally {
        db.close();
      }
    };

    it(`${PROCESSES} processes × ${ROUNDS.sqlite} fresh databases: every open succeeds, the schema is the one a lone process creates, migrated once`, async () => {
      const reference = dir();
      await (await ReadDb.open({ dataDir: reference })).close();
      const expected = sqliteSchema(reference);
      expect(expected.migrations).toEqual([
        { name: '001_read_models' },
        { name: '002_ops_replays' },
        { name: '003_integration_events' },
        { name: '004_webhooks' },
        { name: '005_receipt_signatures' },
        { name: '006_generation_pointer' },
      ]);
      expect(expected.objects.map((o) => (o as { name: string }).name)).toContain(
        'rm_audit_events',
      );

      for (let round = 0; round < ROUNDS.sqlite; round++) {
        const dataDir = dir();
        const results = await race(openers, dataDir);
        expect(results).toEqual(Array(PROCESSES).fill('OK'));
        expect(sqliteSchema(dataDir)).toEqual(expected);
        // Opened again (already migrated): nothing to do, still fine.
        await (await ReadDb.open({ dataDir })).close();
      }
      expect(openers.map((o) => o.stderr)).toEqual(Array(PROCESSES).fill(''));
    }, 60_000);
  });

  describe('PostgreSQL (READ_DB_URL with a schema that does not exist yet, or is empty)', () => {
    const schemas: string[] = [];
    const schema = (): string => {
      const s = freshSchema('rm_race');
      schemas.push(s);
      return s;
    };
    afterAll(async () => {
      for (const s of schemas) await dropSchema(s);
    });

    /** Columns and indexes of the schema's tables (index DDL without the schema's name). */
    const pgSchema = async (name: string) => {
      const client = new Client({ connectionString: PG_URL });
      await client.connect();
      try {
        const columns = await client.query(
          `select table_name, column_name, data_type, is_nullable, column_default, ordinal_position
             from information_schema.columns where table_schema = $1
            order by table_name, ordinal_position`,
          [name],
        );
        const indexes = await client.query(
          `select tablename, indexname, replace(indexdef, $1 || '.', 'S.') as def
             from pg_indexes where schemaname = $1 order by tablename, indexname`,
          [name],
        );
        const migrations = await client.query(`select name from "${name}".rm_migrations`);
        return { columns: columns.rows, indexes: indexes.rows, migrations: migrations.rows };
      } finally {
        await client.end();
      }
    };

    const createSchema = async (name: string) => {
      const client = new Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`CREATE SCHEMA "${name}"`).finally(() => client.end());
    };

    it(`${PROCESSES} processes × ${ROUNDS.postgres} fresh schemas: every open succeeds, the schema is the one a lone process creates, migrated once`, async () => {
      const reference = schema();
      await (
        await ReadDb.open({ dataDir: '/nonexistent', readDbUrl: urlWithSchema(reference) })
      ).close();
      const expected = await pgSchema(reference);
      expect(expected.migrations).toEqual([
        { name: '001_read_models' },
        { name: '002_ops_replays' },
        { name: '003_integration_events' },
        { name: '004_webhooks' },
        { name: '005_receipt_signatures' },
        { name: '006_generation_pointer' },
      ]);
      expect(expected.indexes.length).toBeGreaterThan(10);

      for (let round = 0; round < ROUNDS.postgres; round++) {
        const name = schema();
        const url = urlWithSchema(name);
        // Odd rounds: the schema exists, empty (created by an operator): only the tables race.
        if (round % 2 === 1) await createSchema(name);
        const results = await race(openers, '/nonexistent', url);
        expect(results).toEqual(Array(PROCESSES).fill('OK'));
        expect(await pgSchema(name)).toEqual(expected);
        await (await ReadDb.open({ dataDir: '/nonexistent', readDbUrl: url })).close();
      }
      expect(openers.map((o) => o.stderr)).toEqual(Array(PROCESSES).fill(''));
    }, 60_000);
  });
});
