import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { useTmpDir } from '../../../../test/support/tmp-dir';
import {
  DataKeyAccountMismatchError,
  DataKeyDestroyedError,
  DataKeyUnwrapError,
} from './key-store.port';
import { parseKeyEncryptionKey } from './key-wrapping';
import { SqliteKeyStore } from './sqlite-key-store';

/** Test master keys derived deterministically, never random or real. */
const kek = (label: string): Buffer => createHash('sha256').update(`test-kek:${label}`).digest();

describe('SqliteKeyStore', () => {
  const tmp = useTmpDir('es-keys-');
  const file = (): string => join(tmp(), 'keys.sqlite');

  it('creates a key once and returns the same key afterwards', async () => {
    const keys = SqliteKeyStore.open(file());
    const a = await keys.getOrCreate('sub:1', 'acc1');
    const b = await keys.getOrCreate('sub:1', 'acc1');
    expect(a.key).toHaveLength(32);
    expect(b.key.equals(a.key)).toBe(true);
    expect((await keys.get('sub:1'))!.key.equals(a.key)).toBe(true);
    expect(await keys.get('sub:unknown')).toBeNull();
    await expect(keys.getOrCreate('sub:1', 'acc2')).rejects.toBeInstanceOf(
      DataKeyAccountMismatchError,
    );
    await keys.close();
  });

  it('lists and destroys keys per subscription and per account, leaving tombstones', async () => {
    const keys = SqliteKeyStore.open(file());
    await keys.getOrCreate('sub:1', 'acc1');
    await keys.getOrCreate('sub:2', 'acc1');
    await keys.getOrCreate('sub:3', 'acc2');
    expect(await keys.listAccount('acc1')).toEqual(['sub:1', 'sub:2']);

    expect(await keys.destroy('sub:1')).toBe(true);
    expect(await keys.destroy('sub:1')).toBe(false); // idempotent
    expect(await keys.get('sub:1')).toBeNull();
    await expect(keys.getOrCreate('sub:1', 'acc1')).rejects.toBeInstanceOf(DataKeyDestroyedError);

    expect(await keys.destroyAccount('acc1')).toEqual(['sub:2']);
    expect(await keys.destroyAccount('acc1')).toEqual([]);
    expect(await keys.listAccount('acc1')).toEqual([]);
    expect(await keys.listAccount('acc2')).toEqual(['sub:3']);
    await keys.close();
  });

  it('shares keys between connections (processes) to the same file', async () => {
    const a = SqliteKeyStore.open(file());
    const b = SqliteKeyStore.open(file());
    const k = await a.getOrCreate('sub:1', 'acc1');
    expect((await b.getOrCreate('sub:1', 'acc1')).key.equals(k.key)).toBe(true);
    await b.destroy('sub:1');
    expect(await a.get('sub:1')).toBeNull();
    await a.close();
    await b.close();
  });

  describe('with a master key (KEY_ENCRYPTION_KEY)', () => {
    it('stores data keys wrapped, so the file alone does not reveal them', async () => {
      const keys = SqliteKeyStore.open(file(), { keyEncryptionKey: kek('a') });
      const { key } = await keys.getOrCreate('sub:1', 'acc1');
      await keys.close();
      const db = new Database(file(), { readonly: true });
      const material = db.prepare('SELECT material FROM data_keys').pluck().get() as Buffer;
      db.close();
      expect(material.includes(key)).toBe(false);
      expect(readFileSync(file()).includes(key)).toBe(false);

      const again = SqliteKeyStore.open(file(), { keyEncryptionKey: kek('a') });
      expect((await again.get('sub:1'))!.key.equals(key)).toBe(true);
      await again.close();
    });

    it('fails loudly with a wrong or missing master key (never as if erased)', async () => {
      const keys = SqliteKeyStore.open(file(), { keyEncryptionKey: kek('a') });
      await keys.getOrCreate('sub:1', 'acc1');
      await keys.close();
      const wrong = SqliteKeyStore.open(file(), { keyEncryptionKey: kek('b') });
      await expect(wrong.get('sub:1')).rejects.toBeInstanceOf(DataKeyUnwrapError);
      await wrong.close();
      const none = SqliteKeyStore.open(file());
      await expect(none.get('sub:1')).rejects.toBeInstanceOf(DataKeyUnwrapError);
      await none.close();
    });

    it('parses KEY_ENCRYPTION_KEY as base64 of exactly 32 bytes', () => {
      expect(parseKeyEncryptionKey(kek('a').toString('base64')).equals(kek('a'))).toBe(true);
      expect(() => parseKeyEncryptionKey(Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes/);
      expect(() => parseKeyEncryptionKey('not base64!')).toThrow(/32 bytes/);
      expect(() => SqliteKeyStore.open(file(), { keyEncryptionKey: Buffer.alloc(8) })).toThrow(
        /32 bytes/,
      );
    });
  });
});
