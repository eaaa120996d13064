import { DateTime } from 'luxon';
import { subscriptionDecider } from '../../deciders';
import { fold } from '../../shared/decider';
import { toInstant } from '../../shared/time';
import { deciderSpecification } from '../../testing/decider-specification';
import { after, cancel, registered, SUB, termEnd } from '../../testing/subscription.fixtures';
import type { HolderReceipt } from '../subscription.events';
import type { SubscriptionCommand } from '../subscription.commands';

const spec = deciderSpecification(subscriptionDecider);
const at = (local: string): string => toInstant(DateTime.fromISO(local, { zone: 'Europe/Rome' }));

const expired = after(
  [registered({ termStart: '2026-01-31T00:00:00+01:00' })],
  cancel(at('2026-02-10T00:00')),
  termEnd(at('2026-02-28T00:00')),
);
const purgeAt = at('2026-05-29T00:00');
const start = (now: string, legalHold = false): SubscriptionCommand => ({
  type: 'StartPurge',
  data: {
    subscriptionId: SUB,
    purgeId: 'purge-1',
    holders: ['local', 'recordings'],
    legalHold,
    now,
  },
});
const receipt = (holder: string, itemsDeleted: number): HolderReceipt => ({
  holder,
  itemsDeleted,
  bytesDeleted: itemsDeleted * 100,
  contentHash: `sha256:${holder}`,
  location: `${holder}://sub_1`,
  externalReceiptId: null,
});
const holderDone = (holder: string, items: number): SubscriptionCommand => ({
  type: 'RecordHolderPurged',
  data: { subscriptionId: SUB, purgeId: 'purge-1', receipt: receipt(holder, items), now: purgeAt },
});
const complete: SubscriptionCommand = {
  type: 'CompletePurge',
  data: {
    subscriptionId: SUB,
    purgeId: 'purge-1',
    keysShredded: ['sub-sub_1'],
    readModelRowsScrubbed: 3,
    jobsRemoved: 1,
    now: purgeAt,
  },
};

describe('Purge (R15, D3)', () => {
  it('R15: never early: one second before purgeAt the purge changes nothing', () => {
    spec
      .given(expired)
      .when(start(toInstant(DateTime.fromISO(purgeAt).minus({ seconds: 1 }))))
      .thenNothingHappens();
  });

  it('R15: at purgeAt (expiry + 90 days) the purge starts', () => {
    spec
      .given(expired)
      .when(start(purgeAt))
      .then([
        {
          type: 'PurgeStarted',
          data: {
            subscriptionId: SUB,
            accountId: 'acc_1',
            purgeId: 'purge-1',
            startedAt: purgeAt,
            purgeAt,
            holders: ['local', 'recordings'],
          },
        },
      ]);
  });

  it('R15: the purge completes only when every holder confirmed, with a receipt that adds them up', () => {
    const started = after(expired, start(purgeAt), holderDone('local', 7));
    spec
      .given(started)
      .when(complete)
      .thenThrows('INVALID_STATE', /recordings/);
    const [purged] = spec
      .given(after(started, holderDone('recordings', 5)))
      .when(complete)
      .thenEvents();
    expect(purged).toMatchObject({
      type: 'ProductDataPurged',
      data: {
        receipt: {
          purgeId: 'purge-1',
          itemsDeleted: 12,
          keysShredded: ['sub-sub_1'],
          readModelRowsScrubbed: 3,
          jobsRemoved: 1,
        },
      },
    });
    expect(
      fold(subscriptionDecider, [...after(started, holderDone('recordings', 5)), purged!]),
    ).toMatchObject({ status: 'purged', purgedAt: purgeAt });
  });

  it('R15: a holder result repeated after a crash is counted once', () => {
    const started = after(expired, start(purgeAt), holderDone('local', 7));
    spec.given(started).when(holderDone('local', 7)).thenNothingHappens();
  });

  it('R15: a purge resumed after a crash does not start twice, and a purged subscription is not purged again', () => {
    const started = after(expired, start(purgeAt));
    spec.given(started).when(start(purgeAt)).thenNothingHappens();
    const purged = after(started, holderDone('local', 1), holderDone('recordings', 1), complete);
    spec.given(purged).when(start(purgeAt)).thenNothingHappens();
    spec.given(purged).when(complete).thenNothingHappens();
  });

  it('R15: nothing is purged before the subscription expired', () => {
    const pending = expired.slice(0, 3);
    spec
      .given(pending)
      .when(start(at('2030-01-01T00:00')))
      .thenNothingHappens();
  });

  it('D3: a purge due under a legal hold is deferred (recorded once) and runs when no hold remains', () => {
    const deferred = spec.given(expired).when(start(purgeAt, true)).thenEvents();
    expect(deferred).toEqual([
      expect.objectContaining({
        type: 'PurgeDeferred',
        data: expect.objectContaining({ reason: 'legal_hold' }),
      }),
    ]);
    const history = [...expired, ...deferred];
    spec
      .given(history)
      .when(start(at('2026-06-10T00:00'), true))
      .thenNothingHappens();
    expect(
      spec
        .given(history)
        .when(start(at('2026-07-01T00:00'), false))
        .thenEvents()[0]!.type,
    ).toBe('PurgeStarted');
  });
});
