/**
 * Data keys for personal-data encryption (crypto-shredding). One key per subscription, grouped
 * by account: a purge destroys one subscription's key, a GDPR erasure all of an account's keys.
 * Destroying a key makes every event field encrypted under it unreadable for good.
 */
export interface DataKey {
  keyId: string;
  accountId: string;
  /** 32 bytes (AES-256). */
  key: Buffer;
}

export interface KeyStore {
  /**
   * The key, created on first use. Throws DataKeyDestroyedError for a key that was destroyed:
   * new personal data must not be written under a shredded subscription's id.
   */
  getOrCreate(keyId: string, accountId: string): Promise<DataKey>;
  /** The key, or null when it never existed or was destroyed. */
  get(keyId: string): Promise<DataKey | null>;
  /**
   * Destroys one key; resolves only once its bytes are off disk. True when a live key existed.
   * Idempotent: calling again retries the on-disk part.
   */
  destroy(keyId: string): Promise<boolean>;
  /** Destroys all of an account's keys; returns the ids destroyed by this call. */
  destroyAccount(accountId: string): Promise<string[]>;
  /** Ids of the account's live keys. */
  listAccount(accountId: string): Promise<string[]>;
  close(): Promise<void>;
}

export class DataKeyDestroyedError extends Error {
  readonly code = 'DATA_KEY_DESTROYED';
  constructor(readonly keyId: string) {
    super(`Data key ${keyId} was destroyed; personal data can no longer be written under it`);
    this.name = 'DataKeyDestroyedError';
  }
}

export class DataKeyAccountMismatchError extends Error {
  readonly code = 'DATA_KEY_ACCOUNT_MISMATCH';
  constructor(readonly keyId: string) {
    super(`Data key ${keyId} belongs to another account`);
    this.name = 'DataKeyAccountMismatchError';
  }
}

/** The key's bytes could not be unwrapped: wrong or missing KEY_ENCRYPTION_KEY, or corruption. */
export class DataKeyUnwrapError extends Error {
  readonly code = 'DATA_KEY_UNWRAP_FAILED';
  constructor(
    readonly keyId: string,
    reason: string,
  ) {
    super(`Data key ${keyId} cannot be unwrapped: ${reason}`);
    this.name = 'DataKeyUnwrapError';
  }
}

/** The delete committed, but other connections kept the WAL from being emptied. Retry destroy. */
export class KeyShreddingIncompleteError extends Error {
  readonly code = 'KEY_SHREDDING_INCOMPLETE';
  constructor(readonly filePath: string) {
    super(
      `Keys deleted from ${filePath}, but its WAL could not be truncated (other connections hold ` +
        'read snapshots); deleted key bytes may remain in the -wal file until destroy is retried',
    );
    this.name = 'KeyShreddingIncompleteError';
  }
}
