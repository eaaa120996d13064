import type { CommandContext } from '@app/command-handling';
import {
  accountDecider,
  accountStreamId,
  type RecordPersonalDataErasure,
  subscriptionDecider,
  subscriptionStreamId,
} from '@app/domain';
import type { EventStore, NewEvent, RecordedEvent } from '@app/event-store';
import type { MetricsService } from '@app/metrics';
import { FixedClock } from '@app/platform';
import { CommandRunner, PreparedCommand } from './command-runner';
import type { IdempotencyKeys } from './shared-state/idempotency-keys';
import { registration } from '../../domain/src/testing/subscription.fixtures';

const NOW = '2026-02-10T09:00:00.000Z';

/** Streams in memory: enough of the port for handleCommand (read, append with a revision). */
function memoryStore(): EventStore {
  const streams = new Map<string, RecordedEvent[]>();
  let position = 0n;
  return {
    readStream: async (streamId: string) => [...(streams.get(streamId) ?? [])],
    appendToStream: async (streamId: string, events: readonly NewEvent[]) => {
      const stream = streams.get(streamId) ?? [];
      for (const e of events)
        stream.push({
          ...e,
          eventId: e.eventId ?? `event-${position}`,
          streamId,
          revision: stream.length,
          position: ++position,
        });
      streams.set(streamId, stream);
      return { nextRevision: stream.length - 1, position };
    },
  } as unknown as EventStore;
}

/** The shared registry's rule: a key is bound to its first stream and request. */
function memoryKeys(): IdempotencyKeys {
  const held = new Map<string, string>();
  return {
    claim: async (commandId, streamId, requestHash) => {
      const bound = held.get(commandId) ?? `${streamId} ${requestHash}`;
      held.set(commandId, bound);
      if (bound !== `${streamId} ${requestHash}`)
        throw Object.assign(new Error('reused'), { code: 'IDEMPOTENCY_KEY_REUSED' });
    },
    close: async () => undefined,
  };
}

const clientContext = (key: string, hash: string): CommandContext => ({
  commandId: `ops/${key}`,
  requestHash: hash,
  correlationId: 'corr-1',
  causationId: null,
  actor: { actorId: 'dpo_1', role: 'user' },
  channel: 'operator',
});

const erasure = (accountId: string, prepared: string[]) =>
  new PreparedCommand('RecordPersonalDataErasure', async (): Promise<RecordPersonalDataErasure> => {
    prepared.push(accountId);
    return {
      type: 'RecordPersonalDataErasure',
      data: {
        accountId,
        requestedBy: { actorId: 'dpo_1', role: 'user' },
        reason: 'GDPR ticket',
        receipt: { keysShredded: [`key-account-${accountId}`], readModelRowsScrubbed: 1 },
        now: NOW,
      },
    };
  });

describe('CommandRunner', () => {
  it('prepares a PreparedCommand once the key is claimed; a key reused elsewhere prepares nothing', async () => {
    const runner = new CommandRunner(memoryStore(), new FixedClock(NOW), undefined, memoryKeys());
    const prepared: string[] = [];
    const first = await runner.run(
      accountStreamId('acc_a'),
      accountDecider,
      erasure('acc_a', prepared),
      clientContext('k1', 'h-a'),
    );
    expect(first.events.map((e) => e.type)).toEqual(['PersonalDataErased']);
    // The same request again: prepared again (the work is idempotent), answered from the log.
    const again = await runner.run(
      accountStreamId('acc_a'),
      accountDecider,
      erasure('acc_a', prepared),
      clientContext('k1', 'h-a'),
    );
    expect(again).toMatchObject({ replayed: true, position: first.position });
    // The key sent for another account: refused before the work is done.
    await expect(
      runner.run(
        accountStreamId('acc_b'),
        accountDecider,
        erasure('acc_b', prepared),
        clientContext('k1', 'h-b'),
      ),
    ).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(prepared).toEqual(['acc_a', 'acc_a']);
  });

  it('counts outcomes by command type; a refusal the domain recorded counts as refused', async () => {
    const recorded: [string, string][] = [];
    const metrics = {
      recordCommand: (type: string, outcome: string) => void recorded.push([type, outcome]),
    } as unknown as MetricsService;
    const runner = new CommandRunner(memoryStore(), new FixedClock(NOW), metrics);
    const system: CommandContext = {
      commandId: null,
      requestHash: null,
      correlationId: 'corr-2',
      causationId: null,
      actor: null,
      channel: 'system',
    };
    const stream = subscriptionStreamId('sub_owing');
    await runner.run(
      stream,
      subscriptionDecider,
      {
        type: 'RegisterSubscription',
        data: registration({
          subscriptionId: 'sub_owing',
          outstandingBalance: { amount: '9.99', currency: 'EUR' },
          now: NOW,
        }),
      },
      system,
    );
    const cancel = {
      type: 'RequestCancellation',
      data: {
        subscriptionId: 'sub_owing',
        requestedBy: { actorId: 'usr_1', role: 'billing_admin' },
        channel: 'self_service',
        now: NOW,
      },
    } as const;
    const refused = await runner.run(stream, subscriptionDecider, cancel, system);
    expect(refused.events.map((e) => e.type)).toEqual(['CancellationRefused']);
    await expect(
      runner.run(
        subscriptionStreamId('sub_none'),
        subscriptionDecider,
        { ...cancel, data: { ...cancel.data, subscriptionId: 'sub_none' } },
        system,
      ),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(recorded).toEqual([
      ['RegisterSubscription', 'written'],
      ['RequestCancellation', 'refused'],
      ['RequestCancellation', 'NOT_FOUND'],
    ]);
  });
});
