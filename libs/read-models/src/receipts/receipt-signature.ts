import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * D11: the signature scheme of the purge receipts (docs/receipts.md), small and pure so that a
 * third party can write the same in a dozen lines.
 *
 * - A document is signed as the UTF-8 bytes of its RFC 8785 canonical JSON (JCS), without its
 *   `signature` field: `signature = { alg: "Ed25519", kid, value: base64(Ed25519(bytes)) }`.
 * - A receipt's hash is the hex SHA-256 of the canonical JSON of the whole signed receipt
 *   (signature included); the next receipt's `previousHash` is that hash, the first one's
 *   `GENESIS_HASH`.
 * - `kid`: the first 16 hex digits of the SHA-256 of the public key's SPKI DER.
 */

export const RECEIPT_ALG = 'Ed25519' as const;
/** The `previousHash` of the first receipt (sequence 1): 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

export interface ReceiptSignature {
  alg: typeof RECEIPT_ALG;
  kid: string;
  value: string;
}

/** The bytes that are signed and hashed: RFC 8785 canonical JSON, UTF-8. */
export function canonicalBytes(document: unknown): Buffer {
  const text = canonicalize(document);
  if (text === undefined) throw new Error('receipts: nothing to canonicalize');
  return Buffer.from(text, 'utf8');
}

/** The document without its `signature` field: what the signature covers. */
export function withoutSignature(document: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...document };
  delete rest['signature'];
  return rest;
}

/** The key id of a public key: first 16 hex digits of sha256(SPKI DER). */
export function keyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export const publicKeyPem = (publicKey: KeyObject): string =>
  publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** hex sha256 of the canonical JSON of the whole (signed) document. */
export function documentHash(document: unknown): string {
  return createHash('sha256').update(canonicalBytes(document)).digest('hex');
}

/** PKCS#8 DER of an Ed25519 key is this prefix and the 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The Ed25519 private key whose seed is these 32 bytes. */
export function ed25519KeyFromSeed(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw new Error('receipts: an Ed25519 seed is 32 bytes');
  return createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
}

/** Signs documents with one Ed25519 key (deterministic: the same document, the same value). */
export class ReceiptSigner {
  readonly publicKey: KeyObject;
  readonly kid: string;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519')
      throw new Error('receipts: the signing key must be an Ed25519 private key');
    this.publicKey = createPublicKey(privateKey);
    this.kid = keyId(this.publicKey);
  }

  /** The signature of `document` (its own `signature` field, if any, is left out). */
  sign(document: Record<string, unknown>): ReceiptSignature {
    const value = sign(null, canonicalBytes(withoutSignature(document)), this.privateKey);
    return { alg: RECEIPT_ALG, kid: this.kid, value: value.toString('base64') };
  }
}

/** True when `document.signature` is a valid signature of the rest by `publicKey`. */
export function verifySignature(document: Record<string, unknown>, publicKey: KeyObject): boolean {
  const signature = document['signature'] as Partial<ReceiptSignature> | undefined;
  if (!signature || signature.alg !== RECEIPT_ALG || typeof signature.value !== 'string')
    return false;
  try {
    return verify(
      null,
      canonicalBytes(withoutSignature(document)),
      publicKey,
      Buffer.from(signature.value, 'base64'),
    );
  } catch {
    return false;
  }
}
