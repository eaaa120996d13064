import { composeUpcasters, type EventStore } from '@app/event-store';
import { openEventStores, UPCASTERS, UPCASTERS_MODULE } from '@app/infrastructure';
import type { AppConfig } from '@app/platform';
import {
  AuditReader,
  openReceiptKeyring,
  ReadDb,
  ReadStore,
  type ReceiptKeyring,
  type Upcast,
} from '@app/read-models';

/**
 * What the operator tools need, opened from the service's configuration (DATA_DIR, READ_DB_URL,
 * EVENTSTORE_URL): the raw log, the decrypting store, the read database.
 */
export class OpsResources {
  private constructor(
    readonly config: AppConfig,
    /** The log as written (personal fields encrypted). */
    readonly raw: EventStore,
    /** Upcasting over decryption over the raw log: what commands read. */
    readonly store: EventStore,
    readonly readDb: ReadDb,
    readonly readStore: ReadStore,
    readonly auditReader: AuditReader,
    readonly upcast: Upcast,
    /** D11: the key that signs the purge receipts' chain (a replay relinks it). */
    readonly keyring: ReceiptKeyring,
    private readonly keys: { close?: () => unknown },
  ) {}

  static async open(config: AppConfig): Promise<OpsResources> {
    const stores = openEventStores(config);
    try {
      const readDb = await ReadDb.open({ dataDir: config.dataDir, readDbUrl: config.readDbUrl });
      const upcast = composeUpcasters(UPCASTERS);
      const keyring = await openReceiptKeyring(config, stores.keys).catch(async (error) => {
        await readDb.close();
        throw error;
      });
      return new OpsResources(
        config,
        stores.raw,
        stores.store,
        readDb,
        new ReadStore(readDb),
        new AuditReader({ keys: stores.keys, upcast }),
        upcast,
        keyring,
        stores.keys,
      );
    } catch (error) {
      await stores.raw.close();
      throw error;
    }
  }

  /** The same upcasters as a module, for threads that load them themselves. */
  readonly upcasterModule = UPCASTERS_MODULE;

  async close(): Promise<void> {
    await this.readDb.close();
    await this.raw.close();
    await this.keys.close?.();
  }
}
