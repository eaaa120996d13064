import {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
} from '../event-store.port';
import { mapValuesDeep, replaceAtPath } from './json-path';
import { DataKey, KeyStore } from './key-store.port';
import {
  decryptValue,
  encryptValue,
  ERASED,
  isEncryptedValue,
  personalDataAad,
  UNREADABLE,
} from './personal-data-cipher';

/** Which fields of an event type hold personal data (dotted paths into `data`). */
export interface PersonalDataPolicy {
  personalFields(eventType: string): readonly string[];
}

export interface DataKeyRef {
  keyId: string;
  accountId: string;
}

export interface EncryptingEventStoreOptions {
  policy: PersonalDataPolicy;
  keys: KeyStore;
  /** The data key for an event's personal fields; null when the event has none to protect. */
  keyFor: (streamId: string, event: NewEvent) => DataKeyRef | null;
  /**
   * false: events are read as stored, personal fields sealed (`{ $pd: … }` ciphertexts), and no
   * key is read; appends are encrypted all the same. For readers that decide from a stream and
   * never show its personal fields (the lifecycle's jobs, the purge): the states the deciders
   * fold hold none. Default true.
   */
  decryptOnRead?: boolean;
  /** A key exists but a field does not decrypt (corruption, tampering). The field reads UNREADABLE. */
  onUnreadable?: (info: {
    streamId: string;
    eventId: string;
    path: string;
    keyId: string;
    error: unknown;
  }) => void;
}

export class PersonalDataWithoutKeyError extends Error {
  readonly code = 'PERSONAL_DATA_WITHOUT_KEY';
  constructor(
    readonly streamId: string,
    readonly eventType: string,
  ) {
    super(`Event ${eventType} on ${streamId} carries personal data but keyFor returned no key`);
    this.name = 'PersonalDataWithoutKeyError';
  }
}

/**
 * Encrypts personal fields on append and decrypts them on read, over any EventStore. Erasure is
 * key destruction: the log is never rewritten, and fields under a destroyed key read ERASED.
 * Decryption failures never throw (a projection must not stall on a shredded key), but key store
 * failures do (a store being down is not an erasure).
 *
 * Keys are not cached across calls on purpose: a key destroyed by another process (a purge
 * worker) must stop decrypting at once everywhere.
 */
export class EncryptingEventStore implements EventStore {
  constructor(
    private readonly inner: EventStore,
    private readonly o: EncryptingEventStoreOptions,
  ) {}

  async appendToStream(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    const keys = new Map<string, DataKey>();
    const encrypted: NewEvent[] = [];
    for (const event of events) encrypted.push(await this.encryptEvent(streamId, event, keys));
    return this.inner.appendToStream(streamId, encrypted, options);
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    const events = await this.inner.readStream(streamId, options);
    return this.o.decryptOnRead === false ? events : this.decryptAll(events);
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    const events = await this.inner.readAll(options);
    return this.o.decryptOnRead === false ? events : this.decryptAll(events);
  }

  headPosition(): Promise<bigint | null> {
    return this.inner.headPosition();
  }

  waitForAppend(after: bigint | null, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.inner.waitForAppend(after, timeoutMs, signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async encryptEvent(
    streamId: string,
    event: NewEvent,
    keys: Map<string, DataKey>,
  ): Promise<NewEvent> {
    const paths = this.o.policy.personalFields(event.type);
    if (paths.length === 0) return event;
    // Copy first: the caller's object stays plaintext, and replaceAtPath mutates.
    const data = structuredClone(event.data);
    const found: string[] = [];
    for (const path of paths) replaceAtPath(data, path, (v) => (found.push(path), v));
    if (found.length === 0) return event;

    const ref = this.o.keyFor(streamId, event);
    // Fail closed: storing personal data unencrypted would make it impossible to erase.
    if (!ref) throw new PersonalDataWithoutKeyError(streamId, event.type);
    let key = keys.get(ref.keyId);
    if (!key) {
      key = await this.o.keys.getOrCreate(ref.keyId, ref.accountId);
      keys.set(ref.keyId, key);
    }
    const k = key;
    for (const path of new Set(found)) {
      const aad = personalDataAad(streamId, event.type, path);
      replaceAtPath(data, path, (v) => encryptValue(k.key, k.keyId, aad, v));
    }
    return { ...event, data };
  }

  private async decryptAll(events: RecordedEvent[]): Promise<RecordedEvent[]> {
    // Per-call cache only; null = the key is gone.
    const keys = new Map<string, DataKey | null>();
    const out: RecordedEvent[] = [];
    for (const e of events) out.push(await this.decryptEvent(e, keys));
    return out;
  }

  private async decryptEvent(
    event: RecordedEvent,
    keys: Map<string, DataKey | null>,
  ): Promise<RecordedEvent> {
    if (!JSON.stringify(event.data).includes('"$pd"')) return event; // fast path: nothing encrypted
    const data = await mapValuesDeep(event.data, async (value, path) => {
      if (!isEncryptedValue(value)) return undefined;
      let key = keys.get(value.kid);
      if (key === undefined) {
        key = await this.o.keys.get(value.kid);
        keys.set(value.kid, key);
      }
      if (!key) return ERASED;
      try {
        return decryptValue(key.key, personalDataAad(event.streamId, event.type, path), value);
      } catch (error) {
        this.o.onUnreadable?.({
          streamId: event.streamId,
          eventId: event.eventId,
          path,
          keyId: value.kid,
          error,
        });
        return UNREADABLE;
      }
    });
    return { ...event, data };
  }
}
