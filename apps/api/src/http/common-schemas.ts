import { z } from 'zod';
import { type Role, ROLES } from '@app/domain';

/** Ids end up in stream names and BullMQ job ids: no ':' (BullMQ), no spaces, bounded length. */
export const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, _ or -');

/** DOMAIN.md: any role but the three named ones counts as `user` (and may be refused, D6). */
export const roleSchema = z
  .string()
  .min(1)
  .max(64)
  .transform((r): Role => ((ROLES as readonly string[]).includes(r) ? (r as Role) : 'user'));

export const actorSchema = z.strictObject({
  actorId: z.string().min(1).max(128),
  role: roleSchema,
});

/** ISO 8601 with an explicit offset or Z (API.md: "times are ISO 8601 with offset"). */
export const instantSchema = z.iso.datetime({ offset: true });

/** Money (API.md): `{ "amount": "12.50", "currency": "EUR" }`, a decimal string and ISO 4217. */
export const moneySchema = z.strictObject({
  amount: z.string().regex(/^-?\d{1,12}(\.\d{1,4})?$/, 'must be a decimal string such as "12.50"'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "EUR"'),
});
