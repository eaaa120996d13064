import { createHash } from 'node:crypto';
import {
  DataKeyAccountMismatchError,
  DataKeyDestroyedError,
  DataKeyUnwrapError,
  type KeyStore,
} from '@app/event-store';

/** Test master keys derived deterministically, never random or real. */
export const testKek = (label: string): Buffer =>
  createHash('sha256').update(`test-kek:${label}`).digest();

export interface KeyStoreFactory {
  /** A store over the shared backing storage of this test (same file / same schema). */
  open(options?: { keyEncryptionKey?: Buffer }): KeyStore;
  /** Where the bytes live, for the "gone" check: returns true when `bytes` are in live storage. */
  contains(bytes: Buffer): Promise<boolean>;
}

/** The KeyStore contract, run on every adapter (SQLite always, PostgreSQL on the local server). */
export function runKeyStoreContract(
  name: string,
  setup: () => Promise<KeyStoreFactory>,
  teardown: () => Promise<void>,
): void {
  describe(`KeyStore contract: ${name}`, () => {
    let f: KeyStoreFactory;
    const open: KeyStore[] = [];
    const store = (o?: { keyEncryptionKey?: Buffer }) => {
      const s = f.open(o);
      open.push(s);
      return s;
    };
    beforeEach(async () => {
      f = await setup();
    });
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
      await teardown();
    });

    it('creates a key once, returns it afterwards, refuses it to another account', async () => {
      const keys = store();
      const a = await keys.getOrCreate('key-subscription-s1', 'acc1');
      expect(a.key).toHaveLength(32);
      expect((await keys.getOrCreate('key-subscription-s1', 'acc1')).key.equals(a.key)).toBe(true);
      expect((await keys.get('key-subscription-s1'))!.key.equals(a.key)).toBe(true);
      expect(await keys.get('nope')).toBeNull();
      await expect(keys.getOrCreate('key-subscription-s1', 'acc2')).rejects.toBeInstanceOf(
        DataKeyAccountMismatchError,
      );
    });

    it('concurrent creations of one id from two stores (replicas) end with one key', async () => {
      const [a, b] = [store(), store()];
      const keys = await Promise.all(
        [...Array(10)].map((_, i) => (i % 2 ? a : b).getOrCreate('key-subscription-race', 'acc1')),
      );
      expect(new Set(keys.map((k) => k.key.toString('hex'))).size).toBe(1);
    });

    it('R17: destroys per subscription and per account, leaving tombstones that refuse re-creation', async () => {
      const keys = store();
      await keys.getOrCreate('k1', 'acc1');
      await keys.getOrCreate('k2', 'acc1');
      await keys.getOrCreate('k3', 'acc2');
      expect(await keys.listAccount('acc1')).toEqual(['k1', 'k2']);
      expect(await keys.destroy('k1')).toBe(true);
      expect(await keys.destroy('k1')).toBe(false);
      expect(await keys.get('k1')).toBeNull();
      await expect(keys.getOrCreate('k1', 'acc1')).rejects.toBeInstanceOf(DataKeyDestroyedError);
      expect(await keys.destroyAccount('acc1')).toEqual(['k2']);
      expect(await keys.destroyAccount('acc1')).toEqual([]);
      expect(await keys.listAccount('acc2')).toEqual(['k3']);
      // Another replica sees the destruction at once.
      expect(await store().get('k2')).toBeNull();
    });

    it('R15: a destroyed key’s bytes are no longer in live storage', async () => {
      const keys = store();
      const { key } = await keys.getOrCreate('k-gone', 'acc1');
      expect(await f.contains(key)).toBe(true);
      await keys.destroy('k-gone');
      expect(await f.contains(key)).toBe(false);
    });

    it('R15: a burst of destroys at once (a purge burst) each resolve with their key out of live storage', async () => {
      const keys = store();
      const made = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          keys.getOrCreate(`k-burst-${i}`, `acc-burst-${i % 4}`),
        ),
      );
      const results = await Promise.all(made.map((k) => keys.destroy(k.keyId)));
      expect(results.every((existed) => existed)).toBe(true);
      for (const k of made) expect(await f.contains(k.key)).toBe(false);
    });

    it('with KEY_ENCRYPTION_KEY, keys are stored wrapped; a wrong master key is an error, not an erasure', async () => {
      const keys = store({ keyEncryptionKey: testKek('a') });
      const { key } = await keys.getOrCreate('k-wrapped', 'acc1');
      expect(await f.contains(key)).toBe(false);
      expect(
        (await store({ keyEncryptionKey: testKek('a') }).get('k-wrapped'))!.key.equals(key),
      ).toBe(true);
      await expect(
        store({ keyEncryptionKey: testKek('b') }).get('k-wrapped'),
      ).rejects.toBeInstanceOf(DataKeyUnwrapError);
      await expect(store().get('k-wrapped')).rejects.toBeInstanceOf(DataKeyUnwrapError);
    });
  });
}
