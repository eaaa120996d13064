import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { PostgresKeyStore } from '@app/event-store';
import { GenerationalKeyStore, RequestFingerprinter } from '@app/infrastructure';
import { testPgUrl } from '../../support/postgres-url';
import { useTmpDir } from '../../support/tmp-dir';

describe('the idempotency fingerprint key of several processes', () => {
  const tmp = useTmpDir('fingerprint-');
  const schema = `fp_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const readDbUrl = `${testPgUrl()}?schema=${schema}`;
  const stores: PostgresKeyStore[] = [];
  const keyStore = (kek?: Buffer) => {
    const store = new PostgresKeyStore({
      connectionString: testPgUrl(),
      schema,
      ...(kek ? { keyEncryptionKey: kek } : {}),
    });
    stores.push(store);
    return new GenerationalKeyStore(store);
  };
  afterAll(async () => {
    for (const s of stores) await s.close();
    const client = new Client({ connectionString: testPgUrl() });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  it('without REQUEST_HASH_KEY, every process on one READ_DB_URL fingerprints a request alike (the key is created once in the shared key store)', async () => {
    const kek = randomBytes(32);
    // Two "processes": their own DATA_DIR, their own key-store connection, started at once.
    const [a, b] = (await Promise.all(
      [tmp(), tmp()].map((dataDir) =>
        RequestFingerprinter.open({ dataDir, readDbUrl, requestHashKey: undefined }, keyStore(kek)),
      ),
    )) as [RequestFingerprinter, RequestFingerprinter];
    const body = { subscriptionId: 'sub_1', verification: { paymentLast4: '4242' } };
    expect(a.fingerprint('POST /v1/subscriptions', body)).toBe(
      b.fingerprint('POST /v1/subscriptions', body),
    );
    // Not a constant: another body, another fingerprint; and a process with a key of its own
    // (the embedded default's file under DATA_DIR) disagrees.
    expect(a.fingerprint('POST /v1/subscriptions', { ...body, subscriptionId: 'sub_2' })).not.toBe(
      a.fingerprint('POST /v1/subscriptions', body),
    );
    const local = RequestFingerprinter.fromConfig({ dataDir: tmp(), requestHashKey: undefined });
    expect(local.fingerprint('POST /v1/subscriptions', body)).not.toBe(
      a.fingerprint('POST /v1/subscriptions', body),
    );
  });
});
