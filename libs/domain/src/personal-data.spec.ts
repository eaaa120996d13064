import type { AccountCommand } from './account/account.commands';
import type { AccountEvent } from './account/account.events';
import { accountDecider, subscriptionDecider } from './deciders';
import { fold } from './kernel/decider';
import { PERSONAL_DATA_FIELDS, personalDataFields } from './personal-data';
import { SUBSCRIPTION_EVENT_TYPES } from './subscription/subscription.events';
import {
  ACC,
  after,
  cancel,
  productAdmin,
  registered,
  SUB,
  verification,
} from './testing/subscription.fixtures';

describe('personal data marking', () => {
  it('R10: what a support agent verified is personal data (email, card digits, address)', () => {
    expect(personalDataFields('CancellationRequested')).toEqual(
      expect.arrayContaining([
        'verification.billingAdminEmail',
        'verification.paymentLast4',
        'verification.billingAddress',
      ]),
    );
  });

  it('R12: the survey comment is free text and personal; the reason code is not', () => {
    expect(personalDataFields('CancellationRequested')).toContain('survey.comment');
    expect(personalDataFields('CancellationRequested')).not.toContain('survey.reason');
  });

  it('R17: only known event types are marked, and unmarked types have no personal fields', () => {
    const known = new Set<string>([
      ...SUBSCRIPTION_EVENT_TYPES,
      'LegalHoldPlaced',
      'LegalHoldReleased',
      'PersonalDataErased',
    ]);
    for (const type of Object.keys(PERSONAL_DATA_FIELDS)) expect(known).toContain(type);
    expect(personalDataFields('SubscriptionExpired')).toEqual([]);
  });
});

/**
 * What lets the lifecycle's jobs and the purge decide from streams read with their personal
 * fields sealed (no key read, EncryptingEventStore's decryptOnRead): no decider's state holds a
 * personal field, so a stream folds to the same state whether its personal fields read in the
 * clear or as ciphertexts.
 */
describe('personal fields and the deciders’ states', () => {
  const sealed = { $pd: 1, kid: 'k', iv: 'iv', ct: 'ct', tag: 'tag' };
  /** Each personal field the event carries replaced by a ciphertext-like object. */
  const seal = <E extends { type: string; data: object }>(event: E): E => {
    const data = structuredClone(event.data) as Record<string, unknown>;
    for (const path of personalDataFields(event.type)) {
      const parts = path.split('.');
      let node: Record<string, unknown> | undefined = data;
      for (const part of parts.slice(0, -1))
        node = node?.[part] as Record<string, unknown> | undefined;
      const last = parts.at(-1)!;
      if (node && node[last] !== undefined && node[last] !== null) node[last] = sealed;
    }
    return { ...event, data };
  };
  /** The event types the histories below hold (the last test checks they cover every one). */
  const covered = new Set<string>();
  const personalFieldsOf = (events: readonly { type: string; data: object }[]) =>
    events.flatMap((e) => personalDataFields(e.type)).length;

  it('R17: a subscription folds alike with its personal fields sealed (support verification, survey comment, termination note)', () => {
    const start = '2025-01-10T09:00:00.000Z';
    // R4: on a contract account a product admin cancels through support, verified (R10).
    const cancelledBySupport = after(
      [registered({ contract: true })],
      cancel(start, {
        requestedBy: productAdmin,
        channel: 'support',
        verification,
        survey: { reason: 'too_expensive', comment: 'Anna Rossi: too pricey' },
      }),
    );
    const terminatedAt = (effective: string) =>
      after([registered()], {
        type: 'ScheduleTermination',
        data: {
          subscriptionId: SUB,
          requestedBy: productAdmin,
          reason: 'payment_failed',
          effective,
          note: 'Anna Rossi called twice',
          now: start,
        },
      });
    const terminated = terminatedAt('term_end');
    for (const history of [cancelledBySupport, terminated, terminatedAt('immediately')]) {
      history.forEach((e) => covered.add(e.type));
      const closed = history.map(seal);
      expect(personalFieldsOf(history)).toBeGreaterThan(0);
      expect(closed).not.toEqual(history); // something was sealed
      expect(fold(subscriptionDecider, closed)).toEqual(fold(subscriptionDecider, history));
    }
    expect(cancelledBySupport.map((e) => e.type)).toContain('CancellationRequested');
    expect(terminated.map((e) => e.type)).toContain('TerminationScheduled');
  });

  it('R17: an account folds alike with its hold reasons sealed', () => {
    const operator = { actorId: 'ops_lea', role: 'user' } as const;
    const history: AccountEvent[] = [];
    for (const command of [
      {
        type: 'PlaceLegalHold',
        data: {
          accountId: ACC,
          holdId: 'hold-1',
          requestedBy: operator,
          reason: 'Litigation',
          now: '2026-03-01T00:00:00.000Z',
        },
      },
      {
        type: 'ReleaseLegalHold',
        data: {
          accountId: ACC,
          requestedBy: operator,
          reason: 'Case closed',
          now: '2026-04-01T00:00:00.000Z',
        },
      },
    ] as AccountCommand[])
      history.push(...accountDecider.decide(command, fold(accountDecider, history)));
    expect(history.map((e) => e.type)).toEqual(['LegalHoldPlaced', 'LegalHoldReleased']);
    history.forEach((e) => covered.add(e.type));
    const closed = history.map(seal);
    expect(closed).not.toEqual(history);
    expect(fold(accountDecider, closed)).toEqual(fold(accountDecider, history));
    expect(fold(accountDecider, closed.slice(0, 1))).toEqual(
      fold(accountDecider, history.slice(0, 1)),
    );
  });

  it('R17: the histories above hold every event type with personal fields (a new one is added there)', () => {
    expect([...covered].filter((t) => personalDataFields(t).length > 0).sort()).toEqual(
      Object.keys(PERSONAL_DATA_FIELDS).sort(),
    );
  });
});
