import { accountDecider } from '../deciders';
import { ERASED_MARKER, personalDataFields } from '../personal-data';
import type { Actor } from '../shared/actor';
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

describe('Account (legal hold D3, erasure R17)', () => {
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
});
