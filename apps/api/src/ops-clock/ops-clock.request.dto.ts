import { z } from 'zod';
import { instantSchema } from '../http/common-schemas';

/** POST /v1/ops/clock: the new time; `step: false` jumps without stopping at due instants. */
export const moveClockRequestSchema = z.strictObject({
  now: instantSchema,
  step: z.boolean().optional(),
});
