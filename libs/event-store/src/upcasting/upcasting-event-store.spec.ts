import { join } from 'node:path';
import { useTmpDir } from '../../../../test/support/tmp-dir';
import { SqliteEventStore } from '../sqlite/sqlite-event-store';
import { Upcaster, UpcastingEventStore } from './upcasting-event-store';

describe('UpcastingEventStore', () => {
  const tmp = useTmpDir('es-upcast-');

  it('reads old shapes as the current one, in order, without touching the log', async () => {
    const raw = SqliteEventStore.open(join(tmp(), 'events.sqlite'));
    // v1 stored `reason` as a bare string; v2 has { code, text }. v2 → v3 renamed the type.
    const v1toV2: Upcaster = (e) =>
      e.type === 'CancellationRequested' && typeof e.data['reason'] === 'string'
        ? {
            ...e,
            data: { ...e.data, reason: { code: e.data['reason'], text: null } },
            metadata: { ...e.metadata, schemaVersion: 2 },
          }
        : e;
    const v2toV3: Upcaster = (e) =>
      e.type === 'CancellationRequested'
        ? { ...e, type: 'CancellationRequested.v3', position: -1n, revision: 99 }
        : e;
    const store = new UpcastingEventStore(raw, [v1toV2, v2toV3]);
    const metadata = {
      correlationId: 'c',
      causationId: null,
      commandId: null,
      actor: null,
      channel: null,
      recordedAt: '2024-01-01T00:00:00.000Z',
      schemaVersion: 1,
    };
    await store.appendToStream(
      's',
      [
        { type: 'CancellationRequested', data: { reason: 'too-expensive' }, metadata },
        { type: 'Other', data: { x: 1 }, metadata },
      ],
      { expectedRevision: 'no_stream' },
    );

    const [up, other] = await store.readStream('s');
    expect(up).toMatchObject({
      type: 'CancellationRequested.v3',
      data: { reason: { code: 'too-expensive', text: null } },
      metadata: { schemaVersion: 2 },
      // Identity and place in the log come from the stored event, whatever the upcaster says.
      revision: 0,
      position: 1n,
    });
    expect(other).toMatchObject({ type: 'Other', data: { x: 1 } });
    expect((await store.readAll())[0]!.type).toBe('CancellationRequested.v3');
    expect((await raw.readStream('s'))[0]!.data).toEqual({ reason: 'too-expensive' });
    await store.close();
  });
});
