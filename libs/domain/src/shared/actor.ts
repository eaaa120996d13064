/** Roles of the person asking (DOMAIN.md "Roles"); any other role is treated as `user`. */
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

/** Money amounts are decimal strings (API.md); "0.00", "0" and "-0" all mean nothing owed. */
export function isPositiveAmount(money: Money | null | undefined): boolean {
  if (!money) return false;
  return /^\d+(\.\d+)?$/.test(money.amount) && /[1-9]/.test(money.amount);
}
