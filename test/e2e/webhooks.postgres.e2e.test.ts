import {
  dropSchema,
  freshSchema,
  urlWithSchema,
} from '../integration/read-models/support/postgres';
import { eventually, WebhookReceiver } from '../support/webhook-receiver';
import { appliedInLogOrder, neverAhead, WebhookDriver } from './support/webhook-scenarios';

describe('webhooks on the production stores: event log and read database (endpoints, deliveries, the webhook-dispatcher lease) in PostgreSQL', () => {
  const log = freshSchema('es_wh');
  const schema = freshSchema('rm_wh');
  let d: WebhookDriver;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    d = await WebhookDriver.start({
      EVENTSTORE_URL: urlWithSchema(log),
      READ_DB_URL: urlWithSchema(schema),
    });
    receiver = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await d?.close();
    await receiver?.close();
    await dropSchema(schema);
    await dropSchema(log);
  });

  it('delivers every event once after dedup, in order per subscription, retrying failures; the deliveries are listed', async () => {
    receiver.answer = (_, i) => (i % 3 === 0 ? 500 : 200);
    const endpoint = await d.createEndpoint(receiver, ['*']);
    let last = 0n;
    for (const n of [1, 2, 3]) last = await d.register(`whpg_${n}`, `acc_whpg_${n % 2}`);
    for (const n of [1, 2, 3]) last = await d.cancel(`whpg_${n}`);
    last = await d.withdraw('whpg_1');
    const expected = await d.integrationEvents(BigInt(endpoint.startPosition), last);
    expect(expected).toHaveLength(7);
    await eventually(
      () => receiver.appliedIds().length === expected.length,
      'every event accepted',
    );
    expect(new Set(receiver.appliedIds())).toEqual(new Set(expected.map((e) => e.id)));
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    expect(appliedInLogOrder(receiver)).toBe(true);
    expect(neverAhead(receiver, expected)).toBe(true);
    await eventually(
      async () => (await d.deliveries(endpoint.id, '&status=delivered')).length === expected.length,
      'every delivery recorded as delivered',
    );
    const listed = await d.deliveries(endpoint.id);
    expect(listed.map((l) => l.eventId)).toEqual(expected.map((e) => e.id));
    expect(listed.some((l) => l.attempts > 1)).toBe(true);
  });
});
