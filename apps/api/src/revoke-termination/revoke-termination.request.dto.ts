import { z } from 'zod';
import { actorSchema } from '../http/common-schemas';

/** D8: revoke a termination before it takes effect. */
export const revokeTerminationRequestSchema = z.strictObject({ requestedBy: actorSchema });

export type RevokeTerminationRequest = z.infer<typeof revokeTerminationRequestSchema>;
