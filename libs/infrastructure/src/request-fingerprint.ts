import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KeyStore } from '@app/event-store';
import type { AppConfig } from '@app/platform';

/**
 * The shared request-hash secret's entry in the key store: an account id no API id can take
 * (ids are letters, digits, _ and -), so no erasure can shred it.
 */
const SHARED_KEY = { keyId: 'request-hash-key', accountId: 'service:request-hash' } as const;

/**
 * Fingerprints a command request for idempotency (same key + same request = replay; same key +
 * other request = IDEMPOTENCY_KEY_REUSED). The fingerprint is stored in event metadata, so it is
 * an HMAC under a secret rather than a plain hash: request bodies carry personal data (R10), and
 * a plain hash of a 4-digit card suffix is reversible by trying all 10,000.
 *
 * The secret comes from REQUEST_HASH_KEY (32 bytes of base64, validated with the rest of the
 * config). Without it: with READ_DB_URL (several processes) it is created once in the shared key
 * store, wrapped under KEY_ENCRYPTION_KEY like the data keys, so that a retry reaching another api
 * is fingerprinted alike; in the embedded default, once under DATA_DIR.
 */
export class RequestFingerprinter {
  constructor(private readonly secret: Buffer) {}

  static async open(
    config: Pick<AppConfig, 'dataDir' | 'requestHashKey' | 'readDbUrl'>,
    keys: Pick<KeyStore, 'getOrCreate'>,
  ): Promise<RequestFingerprinter> {
    if (config.requestHashKey) return new RequestFingerprinter(config.requestHashKey);
    if (config.readDbUrl)
      return new RequestFingerprinter(
        (await keys.getOrCreate(SHARED_KEY.keyId, SHARED_KEY.accountId)).key,
      );
    return RequestFingerprinter.fromConfig(config);
  }

  /** REQUEST_HASH_KEY, or the secret under DATA_DIR (created on first use). */
  static fromConfig(config: Pick<AppConfig, 'dataDir' | 'requestHashKey'>): RequestFingerprinter {
    if (config.requestHashKey) return new RequestFingerprinter(config.requestHashKey);
    const file = join(config.dataDir, 'secrets', 'request-hash.key');
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, randomBytes(32), { flag: 'wx', mode: 0o600 });
      chmodSync(file, 0o600);
    }
    return new RequestFingerprinter(readFileSync(file));
  }

  fingerprint(route: string, request: unknown): string {
    return createHmac('sha256', this.secret)
      .update(route)
      .update('\n')
      .update(canonicalJson(request))
      .digest('base64url');
  }
}

/** JSON with object keys sorted, so that key order in a retried body does not matter. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
