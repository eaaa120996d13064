import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DataKeyUnwrapError } from './key-store.port';

/**
 * Optional envelope encryption of data keys under a master key (KEY_ENCRYPTION_KEY), so a copy of
 * the key store file alone does not expose them. Layout: iv(12) | tag(16) | ciphertext(32).
 * The AAD ties a wrapped key to its id and account so rows cannot be swapped.
 */
const IV = 12;
const TAG = 16;

/** Parses KEY_ENCRYPTION_KEY (base64 of exactly 32 bytes); throws on anything else. */
export function parseKeyEncryptionKey(base64: string): Buffer {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== 32 || key.toString('base64') !== base64.trim()) {
    throw new Error('KEY_ENCRYPTION_KEY must be the base64 encoding of exactly 32 bytes');
  }
  return key;
}

const aadOf = (keyId: string, accountId: string): Buffer =>
  Buffer.from(JSON.stringify(['dk/v1', keyId, accountId]), 'utf8');

export function wrapDataKey(kek: Buffer, keyId: string, accountId: string, key: Buffer): Buffer {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', kek, iv);
  c.setAAD(aadOf(keyId, accountId));
  const ct = Buffer.concat([c.update(key), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]);
}

/** Throws when the master key is wrong or the row was tampered with. */
export function unwrapDataKey(
  kek: Buffer,
  keyId: string,
  accountId: string,
  wrapped: Buffer,
): Buffer {
  const d = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, IV), { authTagLength: TAG });
  d.setAAD(aadOf(keyId, accountId));
  d.setAuthTag(wrapped.subarray(IV, IV + TAG));
  return Buffer.concat([d.update(wrapped.subarray(IV + TAG)), d.final()]);
}

/**
 * The data key of a stored row: unwrapped under the master key when it was stored wrapped, as is
 * when it was stored before a master key was configured (not re-wrapped here).
 */
export function storedKeyBytes(
  kek: Buffer | undefined,
  row: { key_id: string; account_id: string; material: Buffer; wrapped: boolean | number },
): Buffer {
  if (!row.wrapped) return Buffer.from(row.material);
  if (!kek) throw new DataKeyUnwrapError(row.key_id, 'no KEY_ENCRYPTION_KEY configured');
  try {
    return unwrapDataKey(kek, row.key_id, row.account_id, row.material);
  } catch {
    throw new DataKeyUnwrapError(row.key_id, 'wrong KEY_ENCRYPTION_KEY or tampered row');
  }
}
