import { join } from 'node:path';
import { personalDataFields } from '@app/domain';
import {
  EncryptingEventStore,
  type EventStore,
  isPostgresUrl,
  KurrentDbEventStore,
  parsePostgresUrl,
  PostgresEventStore,
  PostgresKeyStore,
  SqliteEventStore,
  SqliteKeyStore,
  UpcastingEventStore,
} from '@app/event-store';
import type { AppConfig } from '@app/platform';
import { dataKeyFor } from './data-keys';
import { GenerationalKeyStore } from './generational-key-store';
import { UPCASTERS } from './upcasters';

export interface EventStores {
  raw: EventStore;
  store: EventStore;
  /** `store` with personal fields left sealed on read (EncryptingEventStore's decryptOnRead). */
  sealed: EventStore;
  keys: GenerationalKeyStore;
}

/**
 * EVENTSTORE_URL selects the log: postgres:// or postgresql:// (`?schema=name` optional) the
 * PostgreSQL one, any other scheme KurrentDB; unset, the embedded SQLite log under DATA_DIR.
 */
export function openEventStores(
  config: Pick<AppConfig, 'dataDir' | 'eventStoreUrl' | 'readDbUrl' | 'keyEncryptionKey'>,
): EventStores {
  const url = config.eventStoreUrl;
  const raw: EventStore = !url
    ? SqliteEventStore.open(join(config.dataDir, 'events.sqlite'))
    : isPostgresUrl(url)
      ? PostgresEventStore.connect(url)
      : KurrentDbEventStore.connect(url);
  // Keys live beside the read models: PostgreSQL when READ_DB_URL is set (shared by every
  // replica), else a SQLite file of its own under DATA_DIR.
  const kek = config.keyEncryptionKey ? { keyEncryptionKey: config.keyEncryptionKey } : {};
  const keys = new GenerationalKeyStore(
    config.readDbUrl
      ? new PostgresKeyStore({ ...parsePostgresUrl(config.readDbUrl), ...kek })
      : SqliteKeyStore.open(join(config.dataDir, 'keys.sqlite'), kek),
  );
  const encryption = { policy: { personalFields: personalDataFields }, keys, keyFor: dataKeyFor };
  const encrypting = new EncryptingEventStore(raw, encryption);
  const sealed = new EncryptingEventStore(raw, { ...encryption, decryptOnRead: false });
  return {
    raw,
    keys,
    store: new UpcastingEventStore(encrypting, UPCASTERS),
    sealed: new UpcastingEventStore(sealed, UPCASTERS),
  };
}
