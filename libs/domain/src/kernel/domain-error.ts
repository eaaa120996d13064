/**
 * Stable error codes shared with the HTTP contract (docs/http-api.md). The HTTP layer maps each code to a
 * status in one exception filter; the domain only names the code.
 */
export type RefusalCode =
  'FORBIDDEN_ROLE' | 'CONTACT_SUPPORT' | 'OUTSTANDING_BALANCE' | 'TRIAL_NEEDS_NO_CANCELLATION';

/** D10: an erasure refused because the account is under a legal hold (recorded: ErasureRefused). */
export type ErasureRefusalCode = 'LEGAL_HOLD';

export type DomainErrorCode =
  RefusalCode | 'INVALID_STATE' | 'VALIDATION_FAILED' | 'NOT_FOUND' | ErasureRefusalCode;

/** Every code, once: a `Record` over the union, so a new code does not compile until listed. */
const CODES: Record<DomainErrorCode, true> = {
  FORBIDDEN_ROLE: true,
  CONTACT_SUPPORT: true,
  OUTSTANDING_BALANCE: true,
  TRIAL_NEEDS_NO_CANCELLATION: true,
  INVALID_STATE: true,
  VALIDATION_FAILED: true,
  NOT_FOUND: true,
  LEGAL_HOLD: true,
};
export const DOMAIN_ERROR_CODES = Object.keys(CODES) as [DomainErrorCode, ...DomainErrorCode[]];

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalidState = (message: string, details?: Record<string, unknown>): DomainError =>
  new DomainError('INVALID_STATE', message, details);

export const validationFailed = (message: string, details?: Record<string, unknown>): DomainError =>
  new DomainError('VALIDATION_FAILED', message, details);
