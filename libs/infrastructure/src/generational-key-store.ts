import { type DataKey, DataKeyDestroyedError, type KeyStore } from '@app/event-store';

const MAX_GENERATIONS = 1000;

/**
 * Lets personal data be written again after an erasure. A GDPR erasure (R17) shreds every key of
 * an account, yet the account's subscriptions may live on and collect new personal data (a later
 * support cancellation). Destroyed keys stay tombstoned in the store (never re-created), so new
 * data goes under the next generation of the id: `key-subscription-s1`, then
 * `key-subscription-s1.g2`, … Old fields keep naming their old, shredded key and read `[erased]`.
 */
export class GenerationalKeyStore implements KeyStore {
  constructor(private readonly inner: KeyStore) {}

  async getOrCreate(keyId: string, accountId: string): Promise<DataKey> {
    for (let g = 1; g <= MAX_GENERATIONS; g++) {
      try {
        return await this.inner.getOrCreate(generationId(keyId, g), accountId);
      } catch (error) {
        if (!(error instanceof DataKeyDestroyedError)) throw error;
      }
    }
    throw new Error(`Key ${keyId} has been shredded ${MAX_GENERATIONS} times`);
  }

  get(keyId: string): Promise<DataKey | null> {
    return this.inner.get(keyId);
  }

  destroy(keyId: string): Promise<boolean> {
    return this.inner.destroy(keyId);
  }

  /** Destroys every live generation of a base key id; returns the ids destroyed. */
  async destroyAllGenerations(keyId: string, accountId: string): Promise<string[]> {
    const live = (await this.inner.listAccount(accountId)).filter((id) => baseOf(id) === keyId);
    for (const id of live) await this.inner.destroy(id);
    return live;
  }

  destroyAccount(accountId: string): Promise<string[]> {
    return this.inner.destroyAccount(accountId);
  }

  listAccount(accountId: string): Promise<string[]> {
    return this.inner.listAccount(accountId);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

const generationId = (keyId: string, g: number): string => (g === 1 ? keyId : `${keyId}.g${g}`);
const baseOf = (id: string): string => id.replace(/\.g\d+$/, '');
