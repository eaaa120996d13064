import { generateKeyPairSync, type KeyObject, createPrivateKey, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { KeyStore } from '@app/event-store';
import type { AppConfig } from '@app/platform';
import {
  ed25519KeyFromSeed,
  keyId,
  publicKeyPem,
  RECEIPT_ALG,
  ReceiptSigner,
} from './receipt-signature';

/** One key of GET /v1/audit/receipt-keys. */
export interface ReceiptKeyView {
  kid: string;
  alg: typeof RECEIPT_ALG;
  /** SPKI PEM. */
  publicKey: string;
  /** When the key was made, when known (a key created under DATA_DIR); null for keys given. */
  createdAt: string | null;
}

/** The key that signs receipts now, and every key an auditor may need to check older ones. */
export class ReceiptKeyring {
  constructor(
    readonly signer: ReceiptSigner,
    private readonly signerCreatedAt: string | null,
    private readonly olderKeys: readonly KeyObject[] = [],
  ) {}

  /** The signing key first, then the older ones (RECEIPT_VERIFY_KEYS), each once. */
  keys(): ReceiptKeyView[] {
    const out: ReceiptKeyView[] = [
      {
        kid: this.signer.kid,
        alg: RECEIPT_ALG,
        publicKey: publicKeyPem(this.signer.publicKey),
        createdAt: this.signerCreatedAt,
      },
    ];
    for (const key of this.olderKeys) {
      const kid = keyId(key);
      if (!out.some((k) => k.kid === kid))
        out.push({ kid, alg: RECEIPT_ALG, publicKey: publicKeyPem(key), createdAt: null });
    }
    return out;
  }

  publicKeys(): KeyObject[] {
    return [this.signer.publicKey, ...this.olderKeys];
  }
}

/**
 * The shared key store's entry of the signing key's seed: an account id no API id can take (ids
 * are letters, digits, _ and -), so no erasure shreds it.
 */
const SHARED_SEED = { keyId: 'receipt-signing-key', accountId: 'service:receipt-signing' } as const;

export const RECEIPT_KEY_FILE = 'receipt-signing-key.pem';

/**
 * The signing key, from (in this order): RECEIPT_SIGNING_KEY; with READ_DB_URL outside
 * production (the production shape refuses to start without the variable: config.loader.ts), a
 * seed created once in the shared key store, so that every process signs with one key; else a
 * key created once under DATA_DIR/secrets.
 */
export async function openReceiptKeyring(
  config: Pick<AppConfig, 'dataDir' | 'readDbUrl' | 'receiptSigningKey' | 'receiptVerifyKeys'>,
  keys?: Pick<KeyStore, 'getOrCreate'>,
): Promise<ReceiptKeyring> {
  const older = config.receiptVerifyKeys ?? [];
  if (config.receiptSigningKey)
    return new ReceiptKeyring(new ReceiptSigner(config.receiptSigningKey), null, older);
  if (config.readDbUrl && keys) {
    const seed = await keys.getOrCreate(SHARED_SEED.keyId, SHARED_SEED.accountId);
    return new ReceiptKeyring(new ReceiptSigner(ed25519KeyFromSeed(seed.key)), null, older);
  }
  const { key, createdAt } = receiptKeyFile(join(config.dataDir, 'secrets'));
  return new ReceiptKeyring(new ReceiptSigner(key), createdAt, older);
}

/**
 * The key in `<dir>/receipt-signing-key.pem`, made on first use. Several processes may start at
 * once: each writes a whole key to a file of its own, then links it to the name, which only one
 * link can take (EEXIST for the others); all then read the key that won. The file is never a
 * half-written key, and never replaced.
 */
export function receiptKeyFile(dir: string): { key: KeyObject; createdAt: string } {
  const file = join(dir, RECEIPT_KEY_FILE);
  let stat = statOrNull(file);
  if (!stat) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pem = generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, pem);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(tmp);
    }
    syncDir(dir);
    stat = statSync(file);
  }
  const key = createPrivateKey({ key: readFileSync(file), format: 'pem' });
  return { key, createdAt: stat.mtime.toISOString() };
}

function statOrNull(file: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
