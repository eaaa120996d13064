import { sql } from 'kysely';
import { ReadDb } from '@app/read-models';
import { FAST, WebhookDriver } from '../../e2e/support/webhook-scenarios';
import { useTmpDir } from '../../support/tmp-dir';
import { eventually, WebhookReceiver } from '../../support/webhook-receiver';
import { runOps } from '../ops/ops-cli';

const webhookRows = async (dataDir: string) => {
  const readDb = await ReadDb.open({ dataDir });
  try {
    return {
      endpoints: (await sql`select * from webhook_endpoints order by id`.execute(readDb.db)).rows,
      deliveries: (await sql`select * from webhook_deliveries order by id`.execute(readDb.db)).rows,
    };
  } finally {
    await readDb.close();
  }
};

/**
 * The webhook tables are no read models: `npm run ops -- replay` rebuilds and swaps the read
 * models and leaves endpoints, cursors and deliveries as they were, so nothing is sent twice and
 * nothing is lost after it.
 */
describe('webhooks and a replay of the read models (SQLite)', () => {
  const tmp = useTmpDir('sub-eol-wh-replay-');
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await receiver.close();
  });

  it('endpoints and deliveries survive `npm run ops -- replay`; delivery carries on after it without resending', async () => {
    const dataDir = tmp();
    let d = await WebhookDriver.start({}, { dispatcher: true, settings: FAST }, dataDir);
    let endpointId = '';
    try {
      endpointId = (await d.createEndpoint(receiver, ['*'])).id;
      for (const n of [1, 2, 3]) await d.register(`whr_${n}`, 'acc_whr');
      await eventually(() => receiver.appliedIds().length === 3, 'the first deliveries');
      await eventually(
        async () => (await d.deliveries(endpointId, '&status=delivered')).length === 3,
        'the deliveries recorded as delivered',
      );
    } finally {
      await d.close();
    }
    const before = await webhookRows(dataDir);
    expect(before.endpoints).toHaveLength(1);
    expect(before.deliveries).toHaveLength(3);

    const replay = await runOps(['replay', '--json'], { DATA_DIR: dataDir });
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ swapped: true, events: 3 });
    expect(await webhookRows(dataDir)).toEqual(before);

    d = await WebhookDriver.start({}, { dispatcher: true, settings: FAST }, dataDir);
    try {
      await d.register('whr_4', 'acc_whr');
      await eventually(() => receiver.appliedIds().length === 4, 'the delivery after the replay');
      await eventually(
        async () => (await d.deliveries(endpointId, '&status=delivered')).length === 4,
        'four deliveries recorded as delivered',
      );
      // Each event sent once: the replay did not make the endpoint start over.
      expect(receiver.requests).toHaveLength(4);
      expect(new Set(receiver.requests.map((r) => r.id)).size).toBe(4);
    } finally {
      await d.close();
    }
  });
});
