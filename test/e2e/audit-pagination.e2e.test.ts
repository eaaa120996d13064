import { auth, type TestApp, registrationBody, startApp, TOKENS } from '../support/app-harness';

interface Page {
  items: { position: string; subscriptionId: string; type: string }[];
  nextCursor: string | null;
  hasMore: boolean;
}

describe('audit pagination is stable while another client writes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ logLevel: 'warn' });
  });
  afterAll(() => t.close());

  const page = async (query: string): Promise<Page> => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/audit/events?${query}`,
      headers: auth(TOKENS.auditor),
    });
    expect(res.statusCode).toBe(200);
    return res.json<Page>();
  };

  it('following nextCursor while events are appended: every event once, in log order, none skipped', async () => {
    const write = async (i: number) => {
      const id = `pg_${i}`;
      const reg = await t.app.inject({
        method: 'POST',
        url: '/v1/subscriptions',
        headers: auth(TOKENS.writer),
        payload: registrationBody({ accountId: 'acc_pg', subscriptionId: id }),
      });
      expect(reg.statusCode).toBe(201);
      if (i % 2 === 0) {
        const c = await t.app.inject({
          method: 'POST',
          url: `/v1/subscriptions/${id}/cancellation`,
          headers: auth(TOKENS.writer),
          payload: {
            requestedBy: { actorId: 'usr_1', role: 'billing_admin' },
            channel: 'self_service',
          },
        });
        expect(c.statusCode).toBe(200);
      }
    };
    for (let i = 0; i < 10; i++) await write(i);

    // The other client: keeps writing (registrations and cancellations) until told to stop.
    let writing = true;
    let written = 10;
    const writer = (async () => {
      while (writing) {
        await write(written++);
        await new Promise((r) => setImmediate(r));
      }
    })();

    // A reader that follows the log: pages of 5, keeping the last cursor when it has caught
    // up with the writer, until the writer has stopped and nothing more comes.
    const seen: Page['items'] = [];
    let cursor: string | null = null;
    let pages = 0;
    let caughtUp = 0;
    const writtenAtStart = written;
    let until = '';
    for (;;) {
      const final = until !== '';
      const p = await page(`accountId=acc_pg&limit=5${cursor ? `&cursor=${cursor}` : ''}${until}`);
      pages++;
      seen.push(...p.items);
      cursor = p.nextCursor ?? cursor;
      if (pages === 40) {
        writing = false;
        await writer;
        // From now on: pages that include every write (read-your-writes).
        until = `&minPosition=${(await t.raw.headPosition())!.toString()}`;
      }
      if (!p.hasMore) {
        if (final) break;
        caughtUp++;
        await new Promise((r) => setTimeout(r, 2));
      } else await new Promise((r) => setImmediate(r));
    }
    expect(written - writtenAtStart).toBeGreaterThan(0);
    // The reader reached the end of the log while writes went on, and resumed from its cursor.
    expect(caughtUp).toBeGreaterThan(0);

    const all = (await page(`accountId=acc_pg&limit=1000${until}`)).items;
    const positions = seen.map((i) => BigInt(i.position));
    expect(new Set(positions).size).toBe(positions.length);
    expect([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(positions);
    // Nothing skipped: what the pages showed is exactly the log's prefix up to where they stopped.
    expect(seen.map((i) => i.position)).toEqual(all.slice(0, seen.length).map((i) => i.position));
    expect(seen.length).toBe(all.length);
    // The writer's events really arrived during the pagination.
    expect(all.length).toBeGreaterThan(30);
  });
});
