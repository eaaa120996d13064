import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  EncryptingEventStore,
  ERASED,
  EventMetadata,
  SqliteEventStore,
  SqliteKeyStore,
} from '@app/event-store';
import { useTmpDir } from '../../support/tmp-dir';

/**
 * Scans the raw bytes of every file the stores leave on disk (main files, -wal, -shm): personal
 * data must never be there in plaintext, and after a key is destroyed neither the key nor the
 * data it protected may be recoverable from any file.
 */
describe('Personal data on disk: encryption and crypto-shredding', () => {
  const tmp = useTmpDir('es-shred-');

  const metadata: EventMetadata = {
    correlationId: randomUUID(),
    causationId: null,
    commandId: null,
    actor: null,
    channel: 'test',
    recordedAt: '2024-03-01T10:00:00.000Z',
    schemaVersion: 1,
  };

  /** Which files in the dir contain any of the needles (as raw bytes). */
  function filesContaining(dir: string, needles: Array<string | Buffer>): string[] {
    const hits: string[] = [];
    for (const name of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, name));
      for (const n of needles) {
        if (bytes.includes(typeof n === 'string' ? Buffer.from(n, 'utf8') : n)) hits.push(name);
      }
    }
    return hits;
  }

  it('never writes the plaintext, and after destroy(keyId) neither key nor plaintext is on disk', async () => {
    const dir = tmp();
    const events = SqliteEventStore.open(join(dir, 'events.sqlite'));
    // No master key here on purpose: the key bytes are then stored as is, which makes "they are
    // gone after destroy" a real claim rather than a consequence of wrapping.
    const keys = SqliteKeyStore.open(join(dir, 'keys.sqlite'));
    const store = new EncryptingEventStore(events, {
      keys,
      policy: {
        personalFields: (t) =>
          t === 'CancellationRequested' ? ['verification.billingAdminEmail', 'survey.comment'] : [],
      },
      keyFor: (streamId) => ({ keyId: `key-${streamId}`, accountId: 'acc-1' }),
    });

    const email = `grace.hopper.${randomUUID()}@example.com`;
    const comment = `Too expensive for us – ${randomUUID()} – شكرا`;
    const streamId = `subscription-${randomUUID()}`;
    await store.appendToStream(
      streamId,
      [
        {
          type: 'CancellationRequested',
          data: { verification: { billingAdminEmail: email }, survey: { comment } },
          metadata,
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    // A second subscription of the same account must survive the first one's purge.
    await store.appendToStream(
      'subscription-other',
      [
        {
          type: 'CancellationRequested',
          data: { verification: { billingAdminEmail: 'kept@example.com' } },
          metadata,
        },
      ],
      { expectedRevision: 'no_stream' },
    );

    expect(filesContaining(dir, [email, comment])).toEqual([]);
    // Control: the scan does find text the log holds in plaintext (the WAL holds it for now).
    expect(filesContaining(dir, ['CancellationRequested']).length).toBeGreaterThan(0);

    const { key } = (await keys.get(`key-${streamId}`))!;
    const keyForms = [
      key,
      key.toString('hex'),
      key.toString('hex').toUpperCase(),
      key.toString('base64'),
    ];
    // Control: before destruction the raw key is on disk (otherwise the check below proves nothing).
    expect(filesContaining(dir, [key])).not.toEqual([]);

    expect(await keys.destroy(`key-${streamId}`)).toBe(true);
    await events.truncateWal();

    expect(filesContaining(dir, keyForms)).toEqual([]);
    expect(filesContaining(dir, [email, comment])).toEqual([]);

    const [read] = await store.readStream(streamId);
    expect(read!.data).toEqual({
      verification: { billingAdminEmail: ERASED },
      survey: { comment: ERASED },
    });
    const [other] = await store.readStream('subscription-other');
    expect(other!.data).toEqual({ verification: { billingAdminEmail: 'kept@example.com' } });

    await store.close();
    await keys.close();
    // Closing checkpoints nothing back: the files stay clean.
    expect(filesContaining(dir, [...keyForms, email, comment])).toEqual([]);
  });
});
