import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** What a reader gets in place of personal data whose key was shredded (or never existed). */
export const ERASED = '[erased]';
/** What a reader gets when a key exists but the ciphertext does not authenticate (corruption). */
export const UNREADABLE = '[unreadable]';

/** The stored shape of one encrypted personal field. */
export interface EncryptedValue {
  $pd: 1;
  /** Data key id. */
  kid: string;
  iv: string;
  tag: string;
  ct: string;
}

export function isEncryptedValue(v: unknown): v is EncryptedValue {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return (
    o['$pd'] === 1 &&
    typeof o['kid'] === 'string' &&
    typeof o['iv'] === 'string' &&
    typeof o['tag'] === 'string' &&
    typeof o['ct'] === 'string'
  );
}

/**
 * Additional authenticated data: binds a ciphertext to its stream, event type and field, so it
 * cannot be copied into another event or field and still decrypt. JSON avoids separator games.
 */
export const personalDataAad = (streamId: string, eventType: string, path: string): Buffer =>
  Buffer.from(JSON.stringify(['pd/v1', streamId, eventType, path]), 'utf8');

/** AES-256-GCM over the JSON of the value (any JSON value), random 96-bit IV. */
export function encryptValue(
  key: Buffer,
  keyId: string,
  aad: Buffer,
  value: unknown,
): EncryptedValue {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return {
    $pd: 1,
    kid: keyId,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ct: ct.toString('base64'),
  };
}

/** Throws when the ciphertext, tag, IV or AAD do not match. */
export function decryptValue(key: Buffer, aad: Buffer, v: EncryptedValue): unknown {
  // A fixed 16-byte tag length: GCM would otherwise accept truncated tags (easier forgeries).
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(v.iv, 'base64'), {
    authTagLength: 16,
  });
  decipher.setAAD(aad);
  decipher.setAuthTag(Buffer.from(v.tag, 'base64'));
  const pt = Buffer.concat([decipher.update(Buffer.from(v.ct, 'base64')), decipher.final()]);
  return JSON.parse(pt.toString('utf8'));
}
