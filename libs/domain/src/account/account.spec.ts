import { accountDecider } from '../deciders';
import { fold } from '../kernel/decider';
import { recordedRefusal } from '../subscription/recorded-refusal';
import { ERASED_MARKER, personalDataFields } from '../personal-data';
import type { Actor } from '../kernel/actor';
import { deciderSpecification } from '../testing/decider-specification';
import type { AccountCommand } from './account.commands';

const spec = deciderSpecification(accountDecider);
const operator: Actor = { actorId: 'ops_lea', role: 'user' };
const place = (now: string): AccountCommand => ({
  type: 'PlaceLegalHold',
  data: {
    accountId: 'acc_1',
    holdId: 'hold-1',
    requestedBy: operator,
    reason: 'Litigation 2026/114',
    now,
  },
});
const release = (now: string): AccountCommand => ({
  type: 'ReleaseLegalHold',
  data: { accountId: 'acc_1', requestedBy: operator, reason: 'Case closed', now },
});
const dpo: Actor = { actorId: 'usr_dpo', role: 'user' };
const askErasure = (now: string): AccountCommand => ({
  type: 'RequestPersonalDataErasure',
  data: { accountId: 'acc_1', requestedBy: dpo, reason: 'ticket GDPR-1234', now },
});
const heldSince = (now: string) => spec.given([]).when(place(now)).thenEvents();

describe('Account (legal hold D3, erasure R17, erasure under a hold D10)', () => {
  it('D3: placing a legal hold is an event with who, when and why', () => {
    spec
      .given([])
      .when(place('2026-03-01T00:00:00.000Z'))
      .then([
        {
          type: 'LegalHoldPlaced',
          data: {
            accountId: 'acc_1',
            holdId: 'hold-1',
            placedAt: '2026-03-01T00:00:00.000Z',
            requestedBy: operator,
            reason: 'Litigation 2026/114',
          },
        },
      ]);
  });

  it('D3: releasing a hold is an event; the state has no hold afterwards', () => {
    const placed = spec.given([]).when(place('2026-03-01T00:00:00.000Z')).thenEvents();
    const released = spec.given(placed).when(release('2026-04-01T00:00:00.000Z')).thenEvents();
    expect(released).toEqual([
      expect.objectContaining({
        type: 'LegalHoldReleased',
        data: expect.objectContaining({ holdId: 'hold-1' }),
      }),
    ]);
    expect(
      spec.given(placed).when(release('2026-04-01T00:00:00.000Z')).thenState().legalHold,
    ).toBeNull();
  });

  it('D3: placing a hold twice or releasing none changes nothing', () => {
    const placed = spec.given([]).when(place('2026-03-01T00:00:00.000Z')).thenEvents();
    spec.given(placed).when(place('2026-03-02T00:00:00.000Z')).thenNothingHappens();
    spec.given([]).when(release('2026-03-02T00:00:00.000Z')).thenNothingHappens();
  });

  it('D3: a hold needs a reason', () => {
    spec
      .given([])
      .when({
        ...place('2026-03-01T00:00:00.000Z'),
        data: { ...place('2026-03-01T00:00:00.000Z').data, reason: ' ' },
      } as AccountCommand)
      .thenThrows('VALIDATION_FAILED');
  });

  it('R17: an erasure is recorded with its receipt (keys shredded, rows scrubbed) and no erased data', () => {
    const receipt = { keysShredded: ['sub-sub_1', 'acc-acc_1'], readModelRowsScrubbed: 4 };
    const [erased] = spec
      .given([])
      .when({
        type: 'RecordPersonalDataErasure',
        data: {
          accountId: 'acc_1',
          requestedBy: operator,
          reason: 'GDPR art. 17 request',
          receipt,
          now: '2026-05-01T00:00:00.000Z',
        },
      })
      .thenEvents();
    expect(erased).toEqual({
      type: 'PersonalDataErased',
      data: expect.objectContaining({ receipt, erasedAt: '2026-05-01T00:00:00.000Z' }),
    });
  });

  it('R17: free-text reasons are marked personal so they can be erased; the erased marker is fixed', () => {
    expect(personalDataFields('LegalHoldPlaced')).toEqual(['reason']);
    expect(ERASED_MARKER).toBe('[erased]');
  });

  it('D10: an erasure asked under a legal hold is refused with LEGAL_HOLD and recorded, naming the hold', () => {
    spec
      .given(heldSince('2026-03-01T00:00:00.000Z'))
      .when(askErasure('2026-03-05T00:00:00.000Z'))
      .then([
        {
          type: 'ErasureRefused',
          data: {
            accountId: 'acc_1',
            code: 'LEGAL_HOLD',
            rule: 'D10',
            message:
              'Account acc_1 is under legal hold hold-1: its data is kept for the legal claim (GDPR Art. 17(3)(e)). Ask again once the hold is released.',
            holdId: 'hold-1',
            requestedBy: dpo,
            reason: 'ticket GDPR-1234',
            refusedAt: '2026-03-05T00:00:00.000Z',
          },
        },
      ]);
  });

  it('D10: a refused erasure changes no state; each refused request is recorded', () => {
    const held = heldSince('2026-03-01T00:00:00.000Z');
    const before = fold(accountDecider, held);
    const refused = spec.given(held).when(askErasure('2026-03-05T00:00:00.000Z')).thenEvents();
    expect(fold(accountDecider, [...held, ...refused])).toEqual(before);
    const again = spec
      .given([...held, ...refused])
      .when(askErasure('2026-03-06T00:00:00.000Z'))
      .thenEvents();
    expect(again.map((e) => e.type)).toEqual(['ErasureRefused']);
  });

  it('D10: without a hold, or after its release, the erasure may run: nothing to record before it is done', () => {
    spec.given([]).when(askErasure('2026-03-05T00:00:00.000Z')).thenNothingHappens();
    const held = heldSince('2026-03-01T00:00:00.000Z');
    const refused = spec.given(held).when(askErasure('2026-03-05T00:00:00.000Z')).thenEvents();
    const released = [
      ...held,
      ...refused,
      ...spec
        .given([...held, ...refused])
        .when(release('2026-04-01T00:00:00.000Z'))
        .thenEvents(),
    ];
    spec.given(released).when(askErasure('2026-04-02T00:00:00.000Z')).thenNothingHappens();
  });

  it('D10: an erasure request needs a reason', () => {
    spec
      .given([])
      .when({
        type: 'RequestPersonalDataErasure',
        data: {
          accountId: 'acc_1',
          requestedBy: dpo,
          reason: '  ',
          now: '2026-03-05T00:00:00.000Z',
        },
      })
      .thenThrows('VALIDATION_FAILED');
  });

  it('D10: the refusal is answered with its recorded code (recordedRefusal), the erasure record is not a refusal', () => {
    const refused = spec
      .given(heldSince('2026-03-01T00:00:00.000Z'))
      .when(askErasure('2026-03-05T00:00:00.000Z'))
      .thenEvents();
    expect(recordedRefusal(refused)).toMatchObject({
      code: 'LEGAL_HOLD',
      message: expect.stringMatching(/legal hold hold-1/),
      details: { rule: 'D10', recorded: true },
    });
    const erased = spec
      .given([])
      .when({
        type: 'RecordPersonalDataErasure',
        data: {
          accountId: 'acc_1',
          requestedBy: dpo,
          reason: 'ticket GDPR-1234',
          receipt: { keysShredded: [], readModelRowsScrubbed: 0 },
          now: '2026-05-01T00:00:00.000Z',
        },
      })
      .thenEvents();
    expect(recordedRefusal(erased)).toBeNull();
  });

  it('D10: the refusal holds no personal data field (the reason is a ticket reference)', () => {
    expect(personalDataFields('ErasureRefused')).toEqual([]);
  });
});
