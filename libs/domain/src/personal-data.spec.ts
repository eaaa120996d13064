import { PERSONAL_DATA_FIELDS, personalDataFields } from './personal-data';
import { SUBSCRIPTION_EVENT_TYPES } from './subscription/subscription.events';

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
