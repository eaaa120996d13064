import { ReadModelProjector } from '@app/read-models';
import { IntegrationEventFeed } from '../../apps/api/src/list-integration-events/integration-events.feed';
import {
  dropSchema,
  freshSchema,
  urlWithSchema,
} from '../integration/read-models/support/postgres';
import { auth, registrationBody, startApp, type TestApp, TOKENS } from '../support/app-harness';
import {
  type FeedPage,
  integrationEventFeedScenarios,
  until,
} from './support/integration-events.scenarios';

describe('GET /v1/events on the production stores: the event log and the read store in PostgreSQL (EVENTSTORE_URL, READ_DB_URL; own schemas dropped after)', () => {
  const log = freshSchema('es_feed');
  const schema = freshSchema('rm_feed');
  integrationEventFeedScenarios({
    env: () => ({ EVENTSTORE_URL: urlWithSchema(log), READ_DB_URL: urlWithSchema(schema) }),
    afterAll: async () => {
      await dropSchema(schema);
      await dropSchema(log);
    },
  });
});

describe('long-poll on an api replica without the projector (READ_MODEL_PROJECTOR=off), the projector in another app instance, both on the same PostgreSQL stores', () => {
  const log = freshSchema('es_feed2');
  const schema = freshSchema('rm_feed2');
  const env = { EVENTSTORE_URL: urlWithSchema(log), READ_DB_URL: urlWithSchema(schema) };
  let api: TestApp;
  let projecting: TestApp;
  beforeAll(async () => {
    // READ_MODEL_PROJECTOR is read from the process environment when the module is built.
    const before = process.env['READ_MODEL_PROJECTOR'];
    process.env['READ_MODEL_PROJECTOR'] = 'off';
    try {
      api = await startApp({ env, logLevel: 'warn' });
    } finally {
      if (before === undefined) delete process.env['READ_MODEL_PROJECTOR'];
      else process.env['READ_MODEL_PROJECTOR'] = before;
    }
    projecting = await startApp({ env, logLevel: 'warn' });
  });
  afterAll(async () => {
    await api?.close();
    await projecting?.close();
    await dropSchema(schema);
    await dropSchema(log);
  });

  const feed = async (t: TestApp, query: string): Promise<FeedPage> => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/events?${query}`,
      headers: auth(TOKENS.events),
    });
    expect(res.statusCode).toBe(200);
    return res.json<FeedPage>();
  };
  const register = async (t: TestApp, subscriptionId: string) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions',
      headers: auth(TOKENS.writer),
      payload: registrationBody({ subscriptionId, accountId: 'acc_feed_pg' }),
    });
    expect(res.statusCode).toBe(201);
  };

  it('a waiting request on the api without a projector is answered once the other instance projects the event (seen through the shared checkpoint)', async () => {
    expect(api.app.get(ReadModelProjector).running).toBe(false);
    expect(projecting.app.get(ReadModelProjector).running).toBe(true);
    const start = (await feed(api, 'limit=1000')).nextCursor;

    const feedOfApi = api.app.get(IntegrationEventFeed);
    const waiting = feed(api, `after=${start}&waitMs=20000`);
    await until(() => feedOfApi.waiting === 1);
    // Written through the api replica itself; projected only by the other instance.
    await register(api, 'feed_pg1');
    const page = await waiting;
    expect(page.items.map((e) => [e.type, e.subscriptionId])).toEqual([
      ['subscription.registered', 'feed_pg1'],
    ]);
    expect(api.app.get(ReadModelProjector).running).toBe(false);
    await until(() => feedOfApi.waiting === 0 && !feedOfApi.watching);

    // And written through the other instance: the same.
    const next = feed(api, `after=${page.nextCursor}&waitMs=20000`);
    await until(() => feedOfApi.waiting === 1);
    await register(projecting, 'feed_pg2');
    expect((await next).items.map((e) => e.subscriptionId)).toEqual(['feed_pg2']);
    // Both instances serve the same feed.
    expect(await feed(projecting, `after=${start}`)).toEqual(await feed(api, `after=${start}`));
  });
});
