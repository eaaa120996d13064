import { CommandRunner, type EventStores, openEventStores } from '@app/infrastructure';
import { SystemClock } from '@app/platform';
import { IntegrationEventReader, ReadDb } from '@app/read-models';
import { WebhookStore } from '@app/webhooks';
import { testConfig } from '../../support/app-harness';
import { usePrivateRedis } from '../../support/redis-harness';
import { useTmpDir } from '../../support/tmp-dir';
import { eventually, WebhookReceiver } from '../../support/webhook-receiver';
import { deleteKeys, freshPrefix, registerMany } from '../lifecycle/lifecycle-harness';
import { WorkerProcess } from '../lifecycle/worker-process';

/**
 * A real worker process (apps/worker/src/main.ts) delivers webhooks (it holds the
 * webhook-dispatcher lease and projects the read models) and is SIGKILLed while the receiver holds
 * its requests; a second worker takes over. Nothing is lost: deduplicated on webhook-id, the
 * receiver has exactly the expected events (duplicates allowed before dedup).
 */
describe('SIGKILL of the worker process mid-delivery', () => {
  const redis = usePrivateRedis();
  const tmp = useTmpDir('sub-eol-wh-crash-');
  const workers: WorkerProcess[] = [];
  let stores: EventStores | undefined;
  let readDb: ReadDb | undefined;
  let receiver: WebhookReceiver | undefined;
  const prefix = freshPrefix();
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await receiver?.close();
    await readDb?.close();
    await stores?.raw.close();
    await deleteKeys(redis.url, prefix);
  });

  it('loses no event: after a restart every event arrives (exactly the expected set after dedup), every signature valid', async () => {
    const dataDir = tmp();
    const env = {
      DATA_DIR: dataDir,
      REDIS_URL: redis.url,
      LIFECYCLE_QUEUE_PREFIX: prefix,
      READ_MODEL_PROJECTOR: 'on',
      WEBHOOK_POLL_INTERVAL_MS: '20',
      WEBHOOK_BACKOFF_BASE_MS: '20',
      WEBHOOK_BACKOFF_MAX_MS: '200',
    };
    stores = openEventStores(testConfig(dataDir));
    const runner = new CommandRunner(stores.store, new SystemClock());
    readDb = await ReadDb.open({ dataDir });
    receiver = await WebhookReceiver.start();
    receiver.answer = () => 'hold';

    const first = new WorkerProcess(env);
    workers.push(first);
    await first.waitFor(
      /"lease":"webhook-dispatcher".*lease taken|lease taken.*"lease":"webhook-dispatcher"/,
    );
    const endpoint = await new WebhookStore(readDb, undefined).createEndpoint(
      { url: receiver.url(), types: ['*'], description: null },
      (await stores.raw.headPosition()) ?? 0n,
      new Date(),
    );
    receiver.secret = endpoint.secret;
    const ids = Array.from({ length: 12 }, (_, i) => `whk_${i}`);
    await registerMany(runner, ids, (id) => ({ accountId: `acc_${id}` }));
    const head = (await stores.raw.headPosition())!;

    // Mid-delivery: requests are in flight (held by the receiver) when the worker dies.
    await eventually(() => receiver!.heldCount >= 4, 'deliveries in flight');
    await first.kill('SIGKILL');
    const inFlight = receiver.requests.filter((r) => r.status === null).map((r) => r.id);
    receiver.answer = () => 200;
    receiver.release();

    const second = new WorkerProcess(env);
    workers.push(second);
    const reader = new IntegrationEventReader(readDb);
    await eventually(async () => ((await reader.checkpoint()) ?? 0n) >= head, 'the projection');
    const expected = (await reader.page({ after: BigInt(endpoint.startPosition), limit: 1000 }))
      .items;
    expect(expected).toHaveLength(ids.length);
    await eventually(
      () => new Set(receiver!.appliedIds()).size === expected.length,
      'every event at the receiver',
      30_000,
    );
    expect(receiver.appliedIds().sort()).toEqual(expected.map((e) => e.id).sort());
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    // What was in flight at the kill was never recorded delivered: the successor sent it again.
    for (const id of inFlight)
      expect(receiver.requests.filter((r) => r.id === id).length).toBeGreaterThanOrEqual(2);
    const store = new WebhookStore(readDb, undefined);
    await eventually(
      async () =>
        (await store.deliveries(endpoint.id, { status: 'delivered', after: null, limit: 100 }))
          .length === expected.length,
      'every delivery recorded as delivered',
    );
    await second.waitFor(
      /"lease":"webhook-dispatcher".*lease taken|lease taken.*"lease":"webhook-dispatcher"/,
    );
  });
});
