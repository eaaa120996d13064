import { DateTime } from 'luxon';
import { subscriptionDecider } from '../../deciders';
import { fold } from '../../kernel/decider';
import { toInstant } from '../../kernel/time';
import { deciderSpecification } from '../../testing/decider-specification';
import {
  after,
  cancel,
  registered,
  SUB,
  termEnd,
  verifyNothingLeft,
} from '../../testing/subscription.fixtures';
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
const verifiedBoth = verifyNothingLeft('purge-1', ['local', 'recordings'], purgeAt);
const verifyWith = (local: number, recordings: number): SubscriptionCommand => ({
  type: 'VerifyPurge',
  data: {
    subscriptionId: SUB,
    purgeId: 'purge-1',
    verifications: [
      { holder: 'local', remainingItems: local, method: 'marker_scan', externalReceiptId: null },
      {
        holder: 'recordings',
        remainingItems: recordings,
        method: 'http',
        externalReceiptId: 'v-9',
      },
    ],
    now: purgeAt,
  },
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
    const deleted = after(started, holderDone('recordings', 5));
    spec
      .given(deleted)
      .when(complete)
      .thenThrows('INVALID_STATE', /not verified/);
    const [purged] = spec.given(after(deleted, verifiedBoth)).when(complete).thenEvents();
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
    expect(fold(subscriptionDecider, [...after(deleted, verifiedBoth), purged!])).toMatchObject({
      status: 'purged',
      purgedAt: purgeAt,
    });
  });

  it('R15: a holder result repeated after a crash is counted once', () => {
    const started = after(expired, start(purgeAt), holderDone('local', 7));
    spec.given(started).when(holderDone('local', 7)).thenNothingHappens();
  });

  it('R15: a purge resumed after a crash does not start twice, and a purged subscription is not purged again', () => {
    const started = after(expired, start(purgeAt));
    spec.given(started).when(start(purgeAt)).thenNothingHappens();
    const purged = after(
      started,
      holderDone('local', 1),
      holderDone('recordings', 1),
      verifiedBoth,
      complete,
    );
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

  describe('D11: complete only when every holder found nothing left', () => {
    const deleted = after(
      expired,
      start(purgeAt),
      holderDone('local', 7),
      holderDone('recordings', 5),
    );

    it('D11: every holder answering "nothing remains" records PurgeVerified, and the receipt carries the answers', () => {
      spec
        .given(deleted)
        .when(verifyWith(0, 0))
        .then([
          {
            type: 'PurgeVerified',
            data: {
              subscriptionId: SUB,
              accountId: 'acc_1',
              purgeId: 'purge-1',
              verifiedAt: purgeAt,
              holders: [
                {
                  holder: 'local',
                  remainingItems: 0,
                  method: 'marker_scan',
                  externalReceiptId: null,
                },
                {
                  holder: 'recordings',
                  remainingItems: 0,
                  method: 'http',
                  externalReceiptId: 'v-9',
                },
              ],
            },
          },
        ]);
      const [purged] = spec
        .given(after(deleted, verifyWith(0, 0)))
        .when(complete)
        .thenEvents();
      expect(purged).toMatchObject({
        type: 'ProductDataPurged',
        data: {
          receipt: {
            verification: {
              verifiedAt: purgeAt,
              holders: [{ holder: 'local' }, { holder: 'recordings', externalReceiptId: 'v-9' }],
            },
          },
        },
      });
    });

    it('D11: a holder that still finds data records the finding once; the purge stays open and cannot complete', () => {
      spec
        .given(deleted)
        .when(verifyWith(0, 3))
        .then([
          {
            type: 'PurgeVerificationFailed',
            data: {
              subscriptionId: SUB,
              accountId: 'acc_1',
              purgeId: 'purge-1',
              checkedAt: purgeAt,
              holders: [
                {
                  holder: 'recordings',
                  remainingItems: 3,
                  method: 'http',
                  externalReceiptId: 'v-9',
                },
              ],
            },
          },
        ]);
      const found = after(deleted, verifyWith(0, 3));
      spec
        .given(found)
        .when(complete)
        .thenThrows('INVALID_STATE', /not verified/);
      // The same finding on a retry is not written again; a changed one is.
      spec.given(found).when(verifyWith(0, 3)).thenNothingHappens();
      expect(spec.given(found).when(verifyWith(1, 3)).thenEvents()[0]!.type).toBe(
        'PurgeVerificationFailed',
      );
      // Once nothing is left, it verifies and completes.
      const verified = after(found, verifyWith(0, 0));
      expect(verified.at(-1)!.type).toBe('PurgeVerified');
      expect(spec.given(verified).when(complete).thenEvents()[0]!.type).toBe('ProductDataPurged');
    });

    it('D11: verification is asked only after every holder deleted, and of every holder', () => {
      spec
        .given(after(expired, start(purgeAt), holderDone('local', 7)))
        .when(verifyWith(0, 0))
        .thenThrows('INVALID_STATE', /recordings have not deleted/);
      spec
        .given(deleted)
        .when(verifyNothingLeft('purge-1', ['local'], purgeAt))
        .thenThrows('INVALID_STATE', /recordings have not verified/);
    });

    it('D11: what one holder still finds is recorded while another has not answered; the purge stays open', () => {
      const onlyRecordings: SubscriptionCommand = {
        type: 'VerifyPurge',
        data: {
          subscriptionId: SUB,
          purgeId: 'purge-1',
          verifications: [
            { holder: 'recordings', remainingItems: 3, method: 'http', externalReceiptId: 'v-9' },
          ],
          now: purgeAt,
        },
      };
      const found = after(deleted, onlyRecordings);
      expect(found.at(-1)).toEqual({
        type: 'PurgeVerificationFailed',
        data: {
          subscriptionId: SUB,
          accountId: 'acc_1',
          purgeId: 'purge-1',
          checkedAt: purgeAt,
          holders: [
            { holder: 'recordings', remainingItems: 3, method: 'http', externalReceiptId: 'v-9' },
          ],
        },
      });
      // Recorded once; the purge cannot complete.
      spec.given(found).when(onlyRecordings).thenNothingHappens();
      spec
        .given(found)
        .when(complete)
        .thenThrows('INVALID_STATE', /not verified/);
      // A finding recorded for the holder that does not answer now is not replaced (nothing
      // written) until that holder answers again.
      spec
        .given(after(deleted, verifyWith(2, 3)))
        .when(onlyRecordings)
        .thenThrows('INVALID_STATE', /local have not verified/);
    });

    it('D11: a verified purge is not verified again, nor a purged subscription', () => {
      spec.given(after(deleted, verifiedBoth)).when(verifyWith(0, 0)).thenNothingHappens();
      spec
        .given(after(deleted, verifiedBoth, complete))
        .when(verifyWith(0, 3))
        .thenNothingHappens();
    });

    it('D11: an answer for another purge, a count that is not a whole number ≥ 0, or a holder answering twice is refused', () => {
      spec
        .given(deleted)
        .when(verifyNothingLeft('purge-2', ['local', 'recordings'], purgeAt))
        .thenThrows('INVALID_STATE', /purge-2 is not the one under way/);
      for (const count of [-1, 1.5, Number.NaN])
        spec
          .given(deleted)
          .when(verifyWith(0, count))
          .thenThrows('VALIDATION_FAILED', /recordings/);
      spec
        .given(deleted)
        .when(verifyNothingLeft('purge-1', ['local', 'recordings', 'local'], purgeAt))
        .thenThrows('VALIDATION_FAILED', /answered twice/);
    });

    it('D11: a finding that changes is recorded again, back to an earlier one too', () => {
      const a = after(deleted, verifyWith(0, 3));
      const b = after(a, verifyWith(2, 0));
      expect(b.at(-1)!.type).toBe('PurgeVerificationFailed');
      expect(spec.given(b).when(verifyWith(0, 3)).thenEvents()[0]!.type).toBe(
        'PurgeVerificationFailed',
      );
    });
  });
});
