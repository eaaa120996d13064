import type { z } from 'zod';

/** docker-compose and .env files often set `FOO=`; treat that like unset. */
export const blankAsUnset = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * A library's own settings from the environment (those not in AppConfig): blank variables count
 * as unset, and an invalid one is refused naming the variable, never echoing its value (secrets
 * are among them).
 */
export function settingsFromEnv<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv,
  what: string,
): z.infer<S> {
  const set = Object.fromEntries(
    Object.entries(env).filter(([, value]) => blankAsUnset(value) !== undefined),
  );
  const parsed = schema.safeParse(set);
  if (!parsed.success)
    throw new Error(
      `Invalid ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}
