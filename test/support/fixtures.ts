import { registration } from '../../libs/domain/src/testing/subscription.fixtures';

export {
  registered,
  registration,
  type RegistrationOptions,
} from '../../libs/domain/src/testing/subscription.fixtures';

/**
 * POST /v1/subscriptions's body for the fixtures' registration (libs/domain/src/testing): a
 * monthly goto-meeting subscription of acc_1, anchored on 31 January 2026 in Rome, renewing; with
 * `overrides` (which may be invalid on purpose). No framework here: processes' tests use it too.
 */
export function registrationBody(overrides: Record<string, unknown> = {}) {
  const {
    subscriptionId: _subscriptionId,
    now: _now,
    outstandingBalance: _outstandingBalance,
    assignedLicences: _assignedLicences,
    ...body
  } = registration();
  return { ...body, ...overrides };
}
