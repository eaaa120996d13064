import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { PostgresEventStore, WrongExpectedRevisionError } from '@app/event-store';
import { openEventStores } from '@app/infrastructure';
import { event } from '../../contract/event-store.contract';
import { dropSchemas, eventLogUrl, freshSchema, PG_URL } from '../../support/postgres-event-log';
import { makeTmpDir, removeTmpDir } from '../../support/tmp-dir';

/**
 * What the contract suite cannot see on PostgreSQL: two store instances with pools of their own
 * (as two processes have) fighting over a revision; the UNIQUE (stream_id, revision) backstop;
 * waiters in this process woken by another process's NOTIFY long before their poll; the LISTEN
 * connection coming back after the server drops it.
 */
describe('PostgresEventStore across instances and processes', () => {
  const schemas: string[] = [];
  const stores: PostgresEventStore[] = [];
  const children: ChildProcess[] = [];

  const fresh = (): string => {
    const schema = freshSchema('es_cross');
    schemas.push(schema);
    return eventLogUrl(schema);
  };
  const open = (url: string, pollIntervalMs?: number): PostgresEventStore => {
    const store = PostgresEventStore.connect(url, {
      poolSize: 3,
      ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
    });
    stores.push(store);
    return store;
  };
  const sid = (label: string): string => `${label}-${randomUUID()}`;

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await dropSchemas(...schemas.splice(0));
  });

  it('a conflicting append from a second instance fails with WrongExpectedRevisionError and writes nothing', async () => {
    const url = fresh();
    const a = open(url);
    const b = open(url);
    const s = sid('conflict');
    await a.appendToStream(s, [event('Opened')], { expectedRevision: 'no_stream' });
    await a.appendToStream(s, [event('Changed')], { expectedRevision: 0 });
    const head = await a.headPosition();

    const losing = [
      { ...event('Late1'), eventId: randomUUID() },
      { ...event('Late2'), eventId: randomUUID() },
    ];
    const err = await b.appendToStream(s, losing, { expectedRevision: 0 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WrongExpectedRevisionError);
    expect(err).toMatchObject({ streamId: s, expected: 0, actual: 1 });

    expect((await b.readStream(s)).map((e) => e.type)).toEqual(['Opened', 'Changed']);
    expect(await b.headPosition()).toBe(head);
    const all = await a.readAll();
    expect(all.some((e) => losing.some((l) => l.eventId === e.eventId))).toBe(false);
  });

  it('of two instances racing on the same expected revision, exactly one wins each time', async () => {
    const url = fresh();
    const a = open(url);
    const b = open(url);
    const s = sid('race');
    await a.appendToStream(s, [event('Opened')], { expectedRevision: 'no_stream' });
    for (let revision = 0; revision < 20; revision++) {
      const results = await Promise.allSettled([
        a.appendToStream(s, [event('FromA')], { expectedRevision: revision }),
        b.appendToStream(s, [event('FromB')], { expectedRevision: revision }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(WrongExpectedRevisionError);
      expect(lost.reason).toMatchObject({ actual: revision + 1 });
    }
    const revisions = (await a.readStream(s)).map((e) => e.revision);
    expect(revisions).toEqual(Array.from({ length: 21 }, (_, i) => i));
  });

  it('UNIQUE (stream_id, revision) backs the check: a writer bypassing the lock makes the append fail alone, as a conflict', async () => {
    const url = fresh();
    const store = open(url);
    const s = sid('backstop');
    const other = sid('bystander');
    await store.appendToStream(s, [event('Opened')], { expectedRevision: 'no_stream' });
    const schema = schemas[schemas.length - 1]!;

    // A transaction that takes no append lock holds revision 1 of the stream, uncommitted.
    const rogue = new Client({ connectionString: PG_URL });
    await rogue.connect();
    try {
      await rogue.query('BEGIN');
      await rogue.query(
        `INSERT INTO "${schema}".events (event_id, stream_id, revision, type, data, metadata)
         VALUES ($1, $2, 1, 'Rogue', '{}', '{}')`,
        [randomUUID(), s],
      );
      const before = store.stats.transactions;
      // Same turn: one group commit. The store still sees revision 0 and inserts revision 1,
      // which waits on the rogue's uncommitted key until it commits, then violates it.
      const contested = store.appendToStream(s, [event('Mine')], { expectedRevision: 0 }).then(
        () => null,
        (e: unknown) => e,
      );
      const bystander = store.appendToStream(other, [event('Fine')], {
        expectedRevision: 'no_stream',
      });
      await waitUntilBlocked(schema);
      await rogue.query('COMMIT');

      const err = await contested;
      expect(err).toBeInstanceOf(WrongExpectedRevisionError);
      expect(err).toMatchObject({ streamId: s, expected: 0, actual: 1 });
      expect((await bystander).nextRevision).toBe(0);
      expect(store.stats.transactions - before).toBe(1);
      expect((await store.readStream(s)).map((e) => e.type)).toEqual(['Opened', 'Rogue']);
    } finally {
      await rogue.end();
    }
  });

  it('a waiter is woken by another process’s append through NOTIFY, long before its 30 s poll', async () => {
    const url = fresh();
    const waiter = open(url, 30_000);
    const head = await waiter.headPosition();
    const child = startWriter(url, sid('poke'));
    await child.ready;

    // The first wait opens the LISTEN connection; a second one starts only once it listens, so
    // that NOTIFY is the only way left to learn of the child's append.
    await waiter.waitForAppend(head, 50);
    await until(() => waiter.listenerState.listening, 5_000, 'LISTEN');
    const waited = Date.now();
    const woken = waiter.waitForAppend(head, 30_000).then(() => Date.now());
    const { committedAt, position } = await child.append();
    const wokeAt = await woken;

    expect(wokeAt - committedAt).toBeLessThan(1_000);
    expect(wokeAt - waited).toBeLessThan(5_000);
    expect(await waiter.headPosition()).toBe(position);
    expect(waiter.listenerState.connections).toBe(1);
  });

  it('after the server drops the LISTEN connection, it reconnects and NOTIFY wakes waiters again', async () => {
    const url = fresh();
    const waiter = open(url, 30_000);
    const child = startWriter(url, sid('poke'));
    await child.ready;
    await waiter.waitForAppend(await waiter.headPosition(), 50);
    await until(() => waiter.listenerState.listening, 5_000, 'LISTEN');

    const killed = await terminateListener(waiter.listenerState.channel);
    expect(killed).toBe(1);
    await until(() => waiter.listenerState.connections === 2, 10_000, 'the LISTEN reconnection');

    const head = await waiter.headPosition();
    const woken = waiter.waitForAppend(head, 30_000).then(() => Date.now());
    const { committedAt } = await child.append();
    expect((await woken) - committedAt).toBeLessThan(1_000);
  });

  it('instances opening a fresh schema at once all succeed (the migration takes turns)', async () => {
    const url = fresh();
    const opened = await Promise.all(
      Array.from({ length: 6 }, () => PostgresEventStore.open(url, { poolSize: 1 })),
    );
    stores.push(...opened);
    const results = await Promise.all(
      opened.map((s, i) =>
        s.appendToStream(sid(`m${i}`), [event('E')], { expectedRevision: 'any' }),
      ),
    );
    expect(new Set(results.map((r) => r.position)).size).toBe(6);
  });

  it('EVENTSTORE_URL=postgres(ql)://…?schema= selects it in the factory; a bad schema name is refused', async () => {
    const url = fresh();
    const schema = schemas[schemas.length - 1]!;
    const dir = makeTmpDir('es-factory-');
    try {
      for (const eventStoreUrl of [url, url.replace(/^postgres:/, 'postgresql:')]) {
        const opened = openEventStores({
          dataDir: dir,
          eventStoreUrl,
          readDbUrl: undefined,
          keyEncryptionKey: undefined,
        });
        try {
          expect(opened.raw).toBeInstanceOf(PostgresEventStore);
          expect((opened.raw as PostgresEventStore).schema).toBe(schema);
          await opened.raw.appendToStream(sid('f'), [event('E')], { expectedRevision: 'any' });
        } finally {
          await opened.raw.close();
          await (opened.keys as { close?: () => Promise<void> }).close?.();
        }
      }
      const check = new Client({ connectionString: PG_URL });
      await check.connect();
      const n = await check.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".events`);
      await check.end();
      expect(n.rows[0]!.n).toBe('2');
    } finally {
      removeTmpDir(dir);
    }
    expect(() => PostgresEventStore.connect(eventLogUrl('Bad-Name'))).toThrow(/schema/);
  });

  function startWriter(url: string, stream: string) {
    const root = resolve(__dirname, '../../..');
    const child = spawn(
      process.execPath,
      [
        '-r',
        join(root, 'test', 'support', 'swc-register.js'),
        join(__dirname, 'fixtures', 'pg-append-writer.ts'),
        url,
        stream,
      ],
      { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const lines: string[] = [];
    const waiters: Array<() => void> = [];
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        lines.push(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        waiters.splice(0).forEach((w) => w());
      }
    });
    const nextLine = async (prefix: string): Promise<string> => {
      const end = Date.now() + 20_000;
      for (;;) {
        const i = lines.findIndex((l) => l.startsWith(prefix));
        if (i >= 0) return lines.splice(i, 1)[0]!;
        if (child.exitCode !== null || Date.now() > end)
          throw new Error(`writer child: no ${prefix} line (stderr: ${stderr})`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    };
    return {
      ready: nextLine('READY'),
      append: async (): Promise<{ position: bigint; committedAt: number }> => {
        child.stdin.write('APPEND\n');
        const [, position, at] = (await nextLine('APPENDED ')).split(' ');
        return { position: BigInt(position!), committedAt: Number(at) };
      },
    };
  }
});

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until some session is blocked on a lock while inserting into the schema's table. */
async function waitUntilBlocked(schema: string): Promise<void> {
  const c = new Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const end = Date.now() + 10_000;
    for (;;) {
      const r = await c.query(
        `SELECT 1 FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND query LIKE '%"${schema}".events%'`,
      );
      if (r.rowCount) return;
      if (Date.now() > end) throw new Error('the append never blocked on the rogue row');
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await c.end();
  }
}

/** Terminates the LISTEN sessions of a channel (as a server restart would); how many there were. */
async function terminateListener(channel: string): Promise<number> {
  const c = new Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'event-store-listener' AND query = $1`,
      [`LISTEN "${channel}"`],
    );
    return r.rowCount ?? 0;
  } finally {
    await c.end();
  }
}
