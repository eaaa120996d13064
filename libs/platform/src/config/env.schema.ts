import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { blankAsUnset } from './settings-from-env';
import { AUTH_SCOPES } from './auth-scopes';
import { redisUrlProblem } from '../redis/redis-url';
import { CLOCK_MODES, DEFAULT_WORKER_HEALTH_PORT, LOG_LEVELS, NODE_ENVS } from './app-config';

// Messages never echo the value: several variables hold secrets, and it is simpler to have
// one rule for all than to remember which ones.

const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankAsUnset, schema.optional());

const integer = (min: number, max: number, what: string) =>
  z
    .string()
    .regex(/^\d+$/, { error: `must be ${what}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: `must be ${what}` });

const urlWithScheme = (schemes: readonly string[], hint: string) =>
  z.string().refine(
    (value) => {
      try {
        return schemes.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL starting with ${hint}` },
  );

/** redis://, rediss:// or the sentinel form (redis-url.ts); the message names the rule only. */
const redisUrl = z.string().superRefine((value, ctx) => {
  const problem = redisUrlProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', input: '(hidden)', message: problem });
});

const isoInstant = z.string().transform((value, ctx) => {
  const parsed = DateTime.fromISO(value, { zone: 'utc' });
  if (!parsed.isValid) {
    ctx.issues.push({
      code: 'custom',
      input: value,
      message: 'must be an ISO 8601 time, e.g. 2026-12-31T23:00:00Z',
    });
    return z.NEVER;
  }
  return parsed.toUTC();
});

const base64Key32 = z.string().transform((value, ctx) => {
  const bytes = Buffer.from(value, 'base64');
  // Buffer.from ignores junk characters; re-encoding catches them.
  if (bytes.toString('base64') !== value || bytes.length !== 32) {
    ctx.issues.push({
      code: 'custom',
      input: '(hidden)',
      message:
        'must be 32 bytes encoded as base64 (44 characters, e.g. from `openssl rand -base64 32`)',
    });
    return z.NEVER;
  }
  return bytes;
});

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g;

/** RECEIPT_SIGNING_KEY (D11): one Ed25519 private key, PKCS#8 PEM. */
const ed25519PrivateKey = z.string().transform((value, ctx): KeyObject => {
  const message =
    'must be an Ed25519 private key in PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----…", e.g. from ' +
    '`openssl genpkey -algorithm ed25519`)';
  try {
    const key = createPrivateKey({ key: value.replace(/\\n/g, '\n'), format: 'pem' });
    if (key.asymmetricKeyType === 'ed25519') return key;
  } catch {
    // reported below, without the value
  }
  ctx.issues.push({ code: 'custom', input: '(hidden)', message });
  return z.NEVER;
});

/** RECEIPT_VERIFY_KEYS (D11): older Ed25519 public keys, SPKI PEM blocks one after the other. */
const ed25519PublicKeys = z.string().transform((value, ctx): KeyObject[] => {
  const blocks = value.replace(/\\n/g, '\n').match(PEM_BLOCK) ?? [];
  const keys: KeyObject[] = [];
  for (const block of blocks) {
    try {
      const key = createPublicKey({ key: block, format: 'pem' });
      if (key.asymmetricKeyType === 'ed25519') {
        keys.push(key);
        continue;
      }
    } catch {
      // reported below
    }
    keys.length = 0;
    break;
  }
  if (keys.length === 0) {
    ctx.issues.push({
      code: 'custom',
      input: '(hidden)',
      message:
        'must be one or more Ed25519 public keys in SPKI PEM ("-----BEGIN PUBLIC KEY-----…"), ' +
        'one after the other',
    });
    return z.NEVER;
  }
  return keys;
});

/** PURGE_NOTICE_DAYS: "30,7" → [30, 7]; "none" → [] (no notices). */
const purgeNoticeDays = z.string().transform((value, ctx) => {
  const text = value.trim();
  if (text === 'none') return [];
  const days = text.split(',').map((part) => part.trim());
  const message =
    'must be distinct whole numbers of days from 1 to 89, most first, separated by commas ' +
    '(e.g. 30,7), or none';
  const numbers = days.map((d) => (/^\d+$/.test(d) ? Number(d) : Number.NaN));
  const valid =
    numbers.every((n) => Number.isInteger(n) && n >= 1 && n <= 89) &&
    numbers.every((n, i) => i === 0 || n < numbers[i - 1]!);
  if (!valid) {
    ctx.issues.push({ code: 'custom', input: value, message });
    return z.NEVER;
  }
  return numbers;
});

/** One AUTH_TOKENS value; the token itself is the JSON key, validated by the loader. */
export const grantSchema = z.strictObject({
  service: z.string().trim().min(1, { error: 'must be a non-empty string' }),
  scopes: z.array(
    z.enum(AUTH_SCOPES, { error: `each scope must be one of ${AUTH_SCOPES.join(', ')}` }),
  ),
});

/** Per-variable rules. AUTH_TOKENS is only checked for being present here (see loader). */
export const envSchema = z.object({
  PORT: z.preprocess(blankAsUnset, integer(0, 65535, 'an integer from 0 to 65535').default(3000)),
  // The standalone worker's health and metrics port; `off`: none. (`npm start` never opens it.)
  WORKER_HEALTH_PORT: z.preprocess(
    blankAsUnset,
    z
      .union([z.literal('off'), integer(0, 65535, 'an integer from 0 to 65535, or off')], {
        error: 'must be an integer from 0 to 65535, or off',
      })
      .default(DEFAULT_WORKER_HEALTH_PORT),
  ),
  DATA_DIR: z.preprocess(blankAsUnset, z.string().default('./var')),
  REDIS_URL: optional(redisUrl),
  EVENTSTORE_URL: optional(
    z.string().regex(/^[a-z][a-z0-9+.-]*:\/\/\S+$/i, {
      error:
        'must be a connection string such as postgres://user@host:5432/db?schema=events or kurrentdb://host:2113?tls=false',
    }),
  ),
  READ_DB_URL: optional(
    urlWithScheme(['postgres:', 'postgresql:'], 'postgres:// or postgresql://'),
  ),
  AUTH_TOKENS: optional(z.string()),
  NODE_ENV: z.preprocess(
    blankAsUnset,
    z.enum(NODE_ENVS, { error: `must be one of ${NODE_ENVS.join(', ')}` }).default('development'),
  ),
  CLOCK_MODE: z.preprocess(
    blankAsUnset,
    z.enum(CLOCK_MODES, { error: `must be one of ${CLOCK_MODES.join(', ')}` }).default('system'),
  ),
  CLOCK_START: optional(isoInstant),
  LOG_LEVEL: z.preprocess(
    blankAsUnset,
    z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ),
  RECONCILE_INTERVAL_MS: z.preprocess(
    blankAsUnset,
    integer(1, Number.MAX_SAFE_INTEGER, 'a positive integer (milliseconds)').default(300_000),
  ),
  // D7: days before a purge at which a notice is issued: distinct whole numbers 1-89, descending.
  PURGE_NOTICE_DAYS: z.preprocess(blankAsUnset, purgeNoticeDays.default([30, 7])),
  // After SIGTERM/SIGINT: serve normally (readiness 503) this long before closing. 0: at once.
  SHUTDOWN_DRAIN_MS: z.preprocess(
    blankAsUnset,
    integer(0, 600_000, 'an integer from 0 to 600000 (milliseconds)').default(0),
  ),
  KEY_ENCRYPTION_KEY: optional(base64Key32),
  REQUEST_HASH_KEY: optional(base64Key32),
  // D11: the key that signs the purge receipts, and older public keys still listed.
  RECEIPT_SIGNING_KEY: optional(ed25519PrivateKey),
  RECEIPT_VERIFY_KEYS: optional(ed25519PublicKeys),
});

export type ParsedEnv = z.output<typeof envSchema>;
