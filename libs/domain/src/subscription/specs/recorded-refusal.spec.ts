import { DateTime } from 'luxon';
import { subscriptionDecider } from '../../deciders';
import { DomainError } from '../../kernel/domain-error';
import { toInstant } from '../../kernel/time';
import { deciderSpecification } from '../../testing/decider-specification';
import { cancel, plainUser, registered } from '../../testing/subscription.fixtures';
import { recordedRefusal } from '../recorded-refusal';

const spec = deciderSpecification(subscriptionDecider);
const midFebruary = toInstant(DateTime.fromISO('2026-02-10T15:00', { zone: 'Europe/Rome' }));

describe('recordedRefusal (D6: a refusal is written, then answered with its error)', () => {
  it('a cancellation refused by policy answers the recorded code, message and rule', () => {
    const owing = registered({ outstandingBalance: { amount: '9.99', currency: 'EUR' } });
    const events = spec.given([owing]).when(cancel(midFebruary)).thenEvents();
    expect(events.map((e) => e.type)).toEqual(['CancellationRefused']);
    const error = recordedRefusal(events);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      code: 'OUTSTANDING_BALANCE',
      message: expect.stringMatching(/9\.99 EUR/),
      details: { rule: 'R6', recorded: true },
    });
  });

  it('a refusal by role is answered as FORBIDDEN_ROLE', () => {
    const events = spec
      .given([registered()])
      .when(cancel(midFebruary, { requestedBy: plainUser }))
      .thenEvents();
    expect(recordedRefusal(events)).toMatchObject({
      code: 'FORBIDDEN_ROLE',
      details: { rule: 'R4', recorded: true },
    });
  });

  it('an accepted cancellation, a repeat that writes nothing, other events: no refusal', () => {
    const accepted = spec.given([registered()]).when(cancel(midFebruary)).thenEvents();
    expect(accepted.map((e) => e.type)).toEqual(['CancellationRequested', 'AutoRenewDisabled']);
    expect(recordedRefusal(accepted)).toBeNull();
    expect(recordedRefusal([])).toBeNull();
    expect(recordedRefusal([registered()])).toBeNull();
  });
});
