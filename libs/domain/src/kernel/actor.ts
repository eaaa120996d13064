/** Roles of the person asking (docs/domain.md "Roles"); any other role is treated as `user`. */
export type Role = 'billing_admin' | 'product_admin' | 'authorized_billing_contact' | 'user';
export const ROLES: readonly Role[] = [
  'billing_admin',
  'product_admin',
  'authorized_billing_contact',
  'user',
];

/** Where a command comes from. `system` is the scheduler; `operator` is an ops tool or person. */
export type Channel = 'self_service' | 'support' | 'system' | 'operator';
export type CustomerChannel = Extract<Channel, 'self_service' | 'support'>;

export interface Actor {
  readonly actorId: string;
  readonly role: Role;
}

export const SYSTEM_ACTOR: Actor = Object.freeze({ actorId: 'system:scheduler', role: 'user' });

export interface Money {
  readonly amount: string;
  readonly currency: string;
}

/** Money amounts are decimal strings (docs/http-api.md); "0.00", "0" and "-0" all mean nothing owed. */
export function isPositiveAmount(money: Money | null | undefined): boolean {
  if (!money) return false;
  return /^\d+(\.\d+)?$/.test(money.amount) && /[1-9]/.test(money.amount);
}

/** A decimal amount in one spelling per value ("12.50", "012.5" → "12.5"; "-0" → "0"), or null. */
function canonicalAmount(amount: string): string | null {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(amount);
  if (!m) return null;
  const whole = m[2]!.replace(/^0+(?=\d)/, '');
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  const sign = whole === '0' && fraction === '' ? '' : m[1];
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Whether two amounts are the same value in the same currency ("12.50 EUR" is "12.5 EUR");
 * null (no balance given) is the same as null only. D9 writes a change only when this is false.
 */
export function sameMoney(a: Money | null, b: Money | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.currency !== b.currency) return false;
  const x = canonicalAmount(a.amount);
  const y = canonicalAmount(b.amount);
  return x !== null && y !== null ? x === y : a.amount === b.amount;
}
