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
