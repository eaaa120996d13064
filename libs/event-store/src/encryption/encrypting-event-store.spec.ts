import { join } from 'node:path';
import { useTmpDir } from '../../../../test/support/tmp-dir';
import { EventStore, NewEvent } from '../event-store.port';
import { SqliteEventStore } from '../sqlite/sqlite-event-store';
import { EncryptingEventStore, PersonalDataWithoutKeyError } from './encrypting-event-store';
import { DataKeyDestroyedError } from './key-store.port';
import { ERASED, isEncryptedValue, UNREADABLE } from './personal-data-cipher';
import { SqliteKeyStore } from './sqlite-key-store';

const metadata = {
  correlationId: 'c',
  causationId: null,
  commandId: null,
  actor: null,
  channel: null,
  recordedAt: '2024-01-01T00:00:00.000Z',
  schemaVersion: 1,
};
const ev = (type: string, data: Record<string, unknown>): NewEvent => ({ type, data, metadata });

const policy = {
  personalFields: (type: string): readonly string[] =>
    ({
      CancellationRequested: [
        'verification.billingAdminEmail',
        'survey.comment',
        'contacts.email',
        'address',
      ],
      PaymentMethodNoted: ['card.last4'],
    })[type] ?? [],
};

/** Streams are `subscription-<accountId>-<subscriptionId>`: one key per subscription. */
const keyFor = (streamId: string) => {
  const [, accountId, subscriptionId] = streamId.split('-');
  return accountId && subscriptionId ? { keyId: `sub:${subscriptionId}`, accountId } : null;
};

describe('EncryptingEventStore', () => {
  const tmp = useTmpDir('es-enc-');
  let raw: SqliteEventStore;
  let keys: SqliteKeyStore;
  let store: EventStore;
  const unreadable: unknown[] = [];
  beforeEach(() => {
    raw = SqliteEventStore.open(join(tmp(), 'events.sqlite'));
    keys = SqliteKeyStore.open(join(tmp(), 'keys.sqlite'));
    unreadable.length = 0;
    store = new EncryptingEventStore(raw, {
      policy,
      keys,
      keyFor,
      onUnreadable: (i) => unreadable.push(i),
    });
  });
  afterEach(async () => {
    await store.close();
    await keys.close();
  });

  const requested = (): NewEvent =>
    ev('CancellationRequested', {
      subscriptionId: 's1',
      verification: { billingAdminEmail: 'ada@example.com', method: 'email' },
      survey: { reason: 'too-expensive', comment: 'Ada says: “too pricey” 💸' },
      contacts: [{ email: 'a@x.io', role: 'owner' }, { role: 'none' }, { email: 'b@x.io' }],
      address: { street: '1 Rue de la Paix', zip: '75002', geo: [48.86, 2.33] },
    });

  it('stores personal fields encrypted (any JSON value, nested, in arrays) and reads them back', async () => {
    const input = requested();
    const before = JSON.stringify(input);
    await store.appendToStream('subscription-acc1-s1', [input], { expectedRevision: 'no_stream' });
    expect(JSON.stringify(input)).toBe(before); // the caller's object is untouched

    const [stored] = await raw.readStream('subscription-acc1-s1');
    const text = JSON.stringify(stored!.data);
    for (const secret of [
      'ada@example.com',
      'too pricey',
      'a@x.io',
      'b@x.io',
      'Rue de la Paix',
      '75002',
    ]) {
      expect(text).not.toContain(secret);
    }
    const d = stored!.data as any;
    expect(isEncryptedValue(d.verification.billingAdminEmail)).toBe(true);
    expect(d.verification.billingAdminEmail.kid).toBe('sub:s1');
    expect(d.verification.method).toBe('email'); // not personal: left alone
    expect(d.survey.reason).toBe('too-expensive');
    expect(d.contacts[1]).toEqual({ role: 'none' }); // missing field skipped
    expect(isEncryptedValue(d.address)).toBe(true);

    const [read] = await store.readStream('subscription-acc1-s1');
    expect(read!.data).toEqual(input.data);
    expect((await store.readAll())[0]!.data).toEqual(input.data);
  });

  it('uses no key for events without personal data present', async () => {
    await store.appendToStream('unkeyed', [ev('CancellationRequested', { subscriptionId: 's9' })], {
      expectedRevision: 'any',
    });
    await store.appendToStream('unkeyed', [ev('Other', { email: 'not in policy' })], {
      expectedRevision: 'any',
    });
    expect(await store.readStream('unkeyed')).toHaveLength(2);
  });

  it('decryptOnRead false: appends encrypted all the same, reads the fields sealed without reading a key', async () => {
    const sealed = new EncryptingEventStore(raw, { policy, keys, keyFor, decryptOnRead: false });
    const get = jest.spyOn(keys, 'get');
    await sealed.appendToStream('subscription-acc1-sub1', [requested()], {
      expectedRevision: 'no_stream',
    });
    const [stored] = await raw.readAll();
    const [read] = await sealed.readStream('subscription-acc1-sub1');
    expect(read).toEqual(stored);
    expect(isEncryptedValue((read!.data as { survey: { comment: unknown } }).survey.comment)).toBe(
      true,
    );
    expect(await sealed.readAll()).toEqual([stored]);
    expect(get).not.toHaveBeenCalled();
    // The decrypting store reads the same event in the clear (a key read).
    expect((await store.readStream('subscription-acc1-sub1'))[0]!.data).toEqual(requested().data);
    expect(get).toHaveBeenCalled();
  });

  it('refuses to store personal data when no key applies (fail closed)', async () => {
    await expect(
      store.appendToStream('unkeyed', [requested()], { expectedRevision: 'any' }),
    ).rejects.toBeInstanceOf(PersonalDataWithoutKeyError);
    expect(await raw.readAll()).toEqual([]);
  });

  it('reads [erased] after the subscription key is destroyed, leaving other subscriptions readable', async () => {
    await store.appendToStream('subscription-acc1-s1', [requested()], {
      expectedRevision: 'no_stream',
    });
    await store.appendToStream(
      'subscription-acc1-s2',
      [ev('PaymentMethodNoted', { card: { last4: '4242' } })],
      {
        expectedRevision: 'no_stream',
      },
    );
    expect(await keys.destroy('sub:s1')).toBe(true);

    const [erased] = await store.readStream('subscription-acc1-s1');
    const d = erased!.data as any;
    expect(d.verification).toEqual({ billingAdminEmail: ERASED, method: 'email' });
    expect(d.survey).toEqual({ reason: 'too-expensive', comment: ERASED });
    expect(d.contacts).toEqual([
      { email: ERASED, role: 'owner' },
      { role: 'none' },
      { email: ERASED },
    ]);
    expect(d.address).toBe(ERASED);
    expect(((await store.readStream('subscription-acc1-s2'))[0]!.data as any).card.last4).toBe(
      '4242',
    );
    expect(unreadable).toEqual([]);

    // New personal data cannot be written under the shredded subscription's key.
    await expect(
      store.appendToStream('subscription-acc1-s1', [requested()], { expectedRevision: 'any' }),
    ).rejects.toBeInstanceOf(DataKeyDestroyedError);
  });

  it('erases every subscription of an account at once', async () => {
    for (const s of ['s1', 's2']) {
      await store.appendToStream(`subscription-acc1-${s}`, [requested()], {
        expectedRevision: 'no_stream',
      });
    }
    await store.appendToStream('subscription-acc2-s3', [requested()], {
      expectedRevision: 'no_stream',
    });
    expect(await keys.destroyAccount('acc1')).toEqual(['sub:s1', 'sub:s2']);
    const all = await store.readAll();
    const emails = all.map((e) => (e.data as any).verification.billingAdminEmail);
    expect(emails).toEqual([ERASED, ERASED, 'ada@example.com']);
  });

  it('will not decrypt a ciphertext moved to another stream or field (AAD), and says so', async () => {
    await store.appendToStream('subscription-acc1-s1', [requested()], {
      expectedRevision: 'no_stream',
    });
    const [stored] = await raw.readStream('subscription-acc1-s1');
    const envelope = (stored!.data as any).verification.billingAdminEmail;
    // Same key id (same subscription), but another stream and another field.
    await raw.appendToStream('subscription-acc1-s1-copy', [ev('X', { stolen: envelope })], {
      expectedRevision: 'any',
    });
    await raw.appendToStream(
      'subscription-acc1-s1',
      [ev('CancellationRequested', { survey: { comment: envelope } })],
      {
        expectedRevision: 'any',
      },
    );
    const [copy] = await store.readStream('subscription-acc1-s1-copy');
    expect(copy!.data['stolen']).toBe(UNREADABLE);
    const moved = await store.readStream('subscription-acc1-s1');
    expect((moved[1]!.data as any).survey.comment).toBe(UNREADABLE);
    expect(unreadable).toHaveLength(2);
  });

  it('propagates key store failures instead of pretending data was erased', async () => {
    await store.appendToStream('subscription-acc1-s1', [requested()], {
      expectedRevision: 'no_stream',
    });
    await keys.close();
    await expect(store.readStream('subscription-acc1-s1')).rejects.toThrow();
  });
});
