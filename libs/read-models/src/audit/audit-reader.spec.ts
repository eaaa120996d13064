import { join } from 'node:path';
import {
  type DataKey,
  encryptValue,
  ERASED,
  type KeyStore,
  personalDataAad,
  SqliteKeyStore,
  UNREADABLE,
} from '@app/event-store';
import { useTmpDir } from '../../../../test/support/tmp-dir';
import type { AuditEventsTable } from '../database/read-db.schema';
import { AuditReader } from './audit-reader';

/** A real key store that counts its lookups (what the reader asks, not what it answers). */
class CountingKeys implements KeyStore {
  readonly lookups: string[] = [];
  constructor(private readonly inner: KeyStore) {}
  get(keyId: string): Promise<DataKey | null> {
    this.lookups.push(keyId);
    return this.inner.get(keyId);
  }
  getOrCreate(keyId: string, accountId: string) {
    return this.inner.getOrCreate(keyId, accountId);
  }
  destroy(keyId: string) {
    return this.inner.destroy(keyId);
  }
  destroyAccount(accountId: string) {
    return this.inner.destroyAccount(accountId);
  }
  listAccount(accountId: string) {
    return this.inner.listAccount(accountId);
  }
  close() {
    return this.inner.close();
  }
}

const TYPE = 'CancellationRequested';

function row(
  position: number,
  streamId: string,
  data: Record<string, unknown>,
  personal: boolean,
): AuditEventsTable {
  return {
    position,
    event_id: `evt-${position}`,
    stream_id: streamId,
    revision: position,
    type: TYPE,
    recorded_at: '2026-02-10T09:00:00.000Z',
    subscription_id: streamId.replace('subscription-', ''),
    account_id: 'acc_1',
    actor_id: position % 2 === 0 ? 'usr_1' : null,
    actor_role: position % 2 === 0 ? 'billing_admin' : null,
    channel: 'support',
    correlation_id: `corr-${position}`,
    causation_id: null,
    data: JSON.stringify(data),
    personal: personal ? 1 : 0,
    scrubbed: 0,
  };
}

describe('AuditReader (real SQLite key store)', () => {
  const tmp = useTmpDir('audit-reader-');
  let store: SqliteKeyStore;
  let keys: CountingKeys;
  const seal = async (keyId: string, streamId: string, path: string, value: unknown) => {
    const key = await store.getOrCreate(keyId, 'acc_1');
    return encryptValue(key.key, keyId, personalDataAad(streamId, TYPE, path), value);
  };

  beforeEach(() => {
    store = SqliteKeyStore.open(join(tmp(), 'keys.sqlite'));
    keys = new CountingKeys(store);
  });
  afterEach(() => store.close());

  it('decrypts personal fields at any depth (objects and arrays), leaves the rest as stored, and maps the columns', async () => {
    const s = 'subscription-s1';
    const data = {
      subscriptionId: 's1',
      verification: {
        billingAdminEmail: await seal('k1', s, 'verification.billingAdminEmail', 'anna@x.it'),
        paymentLast4: '4242',
      },
      notes: [await seal('k1', s, 'notes', { text: 'call back' }), 'plain'],
    };
    const [plain, personal] = await new AuditReader({ keys }).toEvents([
      row(1, s, { subscriptionId: 's1', n: 1 }, false),
      row(2, s, data, true),
    ]);
    expect(plain).toEqual({
      position: '1',
      streamId: s,
      revision: 1,
      type: TYPE,
      recordedAt: '2026-02-10T09:00:00.000Z',
      subscriptionId: 's1',
      accountId: 'acc_1',
      actor: null,
      channel: 'support',
      data: { subscriptionId: 's1', n: 1 },
      correlationId: 'corr-1',
      causationId: null,
    });
    expect(personal!.actor).toEqual({ actorId: 'usr_1', role: 'billing_admin' });
    expect(personal!.data).toEqual({
      subscriptionId: 's1',
      verification: { billingAdminEmail: 'anna@x.it', paymentLast4: '4242' },
      notes: [{ text: 'call back' }, 'plain'],
    });
  });

  it('looks each key up once per page, and again on the next page: a key shredded in between reads "[erased]" at once', async () => {
    const a = 'subscription-a';
    const b = 'subscription-b';
    const page = async () => [
      row(1, a, { email: await seal('ka', a, 'email', 'a@x.it') }, true),
      row(2, a, { email: await seal('ka', a, 'email', 'a2@x.it') }, true),
      row(3, b, { email: await seal('kb', b, 'email', 'b@x.it') }, true),
      row(4, b, { email: await seal('kb', b, 'email', 'b2@x.it') }, true),
    ];
    const reader = new AuditReader({ keys });
    const first = await reader.toEvents(await page());
    expect(first.map((e) => e.data['email'])).toEqual(['a@x.it', 'a2@x.it', 'b@x.it', 'b2@x.it']);
    expect(keys.lookups).toEqual(['ka', 'kb']);
    const rows = await page();
    await store.destroy('ka');
    const second = await reader.toEvents(rows);
    expect(second.map((e) => e.data['email'])).toEqual([ERASED, ERASED, 'b@x.it', 'b2@x.it']);
    expect(keys.lookups).toEqual(['ka', 'kb', 'ka', 'kb']);
  });

  it('a ciphertext that does not authenticate (other field, tampered) reads "[unreadable]" and is reported', async () => {
    const s = 'subscription-t';
    const moved = await seal('kt', s, 'email', 'x@x.it'); // sealed for `email`, stored under `phone`
    const tampered = { ...(await seal('kt', s, 'email', 'y@x.it')), ct: 'AAAA' };
    const reported: unknown[] = [];
    const [e] = await new AuditReader({
      keys,
      onUnreadable: (info) => reported.push(info),
    }).toEvents([row(7, s, { phone: moved, email: tampered }, true)]);
    expect(e!.data).toEqual({ phone: UNREADABLE, email: UNREADABLE });
    expect(reported).toEqual([
      { position: '7', path: 'phone', keyId: 'kt' },
      { position: '7', path: 'email', keyId: 'kt' },
    ]);
  });

  it('upcasters see the decrypted event', async () => {
    const s = 'subscription-u';
    const seen: unknown[] = [];
    const [e] = await new AuditReader({
      keys,
      upcast: (event) => {
        seen.push(event.data);
        return { ...event, type: 'Renamed', data: { ...event.data, v: 2 } };
      },
    }).toEvents([row(1, s, { email: await seal('ku', s, 'email', 'u@x.it') }, true)]);
    expect(seen).toEqual([{ email: 'u@x.it' }]);
    expect([e!.type, e!.data]).toEqual(['Renamed', { email: 'u@x.it', v: 2 }]);
  });
});
