import { resolve } from 'node:path';
import { AUTH_SCOPES, DEV_TOKEN, type AuthTokenGrant } from './auth-scopes';
import type { AppConfig, NodeEnv } from './app-config';
import { ConfigError, type ConfigIssue } from './config.error';
import { envSchema, grantSchema } from './env.schema';

export interface LoadConfigOptions {
  /** DATA_DIR is resolved against this; default process.cwd(). */
  cwd?: string;
}

/**
 * Validates the environment and returns a frozen, typed config, or throws one ConfigError
 * listing every bad variable. Unknown variables are ignored.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: LoadConfigOptions = {},
): AppConfig {
  const issues: ConfigIssue[] = [];
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ variable: String(issue.path[0] ?? '(environment)'), message: issue.message });
    }
  }

  // Cross-variable rules read the raw values so they are reported even when another variable is bad.
  const nodeEnv = parsed.success ? parsed.data.NODE_ENV : undefined;
  const rawTokens = env['AUTH_TOKENS']?.trim() ? env['AUTH_TOKENS'] : undefined;
  const tokens = rawTokens === undefined ? undefined : parseAuthTokens(rawTokens, nodeEnv, issues);
  const isProduction = (env['NODE_ENV']?.trim() ?? '') === 'production';
  if (rawTokens === undefined && isProduction) {
    issues.push({
      variable: 'AUTH_TOKENS',
      message:
        'is required when NODE_ENV=production (the development token is refused there). ' +
        'Set it to {"<token>": {"service": "<name>", "scopes": ["subscriptions:read", ...]}}',
    });
  }
  // A shared event log with keys in a per-process SQLite file: an event one replica encrypted
  // would not decrypt on another, and a replaced pod would take its keys with it.
  if (isProduction && env['EVENTSTORE_URL']?.trim() && !env['READ_DB_URL']?.trim()) {
    issues.push({
      variable: 'READ_DB_URL',
      message:
        'is required when NODE_ENV=production and EVENTSTORE_URL is set: the personal-data keys ' +
        'live beside the read models, and without it each process would keep its own under DATA_DIR',
    });
  }
  // D11: every process of the production shape must sign with the one key the auditors hold;
  // a key made under each process's own DATA_DIR would differ from process to process.
  if (
    isProduction &&
    (env['READ_DB_URL']?.trim() || env['EVENTSTORE_URL']?.trim()) &&
    !env['RECEIPT_SIGNING_KEY']?.trim()
  ) {
    issues.push({
      variable: 'RECEIPT_SIGNING_KEY',
      message:
        'is required when NODE_ENV=production and READ_DB_URL or EVENTSTORE_URL is set: the ' +
        'purge receipts must be signed by the same key in every process. Set it to an Ed25519 ' +
        'private key in PKCS#8 PEM (openssl genpkey -algorithm ed25519)',
    });
  }
  const clockModeRaw = env['CLOCK_MODE']?.trim() || 'system';
  if (env['CLOCK_START']?.trim() && clockModeRaw === 'system') {
    issues.push({
      variable: 'CLOCK_START',
      message: 'is only used with CLOCK_MODE=controlled; unset it or set CLOCK_MODE=controlled',
    });
  }

  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  const data = parsed.data;

  const devTokenInUse = tokens === undefined;
  const authTokens: readonly AuthTokenGrant[] = tokens ?? [
    { token: DEV_TOKEN, service: 'dev', scopes: [...AUTH_SCOPES] },
  ];

  return deepFreeze({
    port: data.PORT,
    workerHealthPort: data.WORKER_HEALTH_PORT === 'off' ? null : data.WORKER_HEALTH_PORT,
    dataDir: resolve(options.cwd ?? process.cwd(), data.DATA_DIR),
    redisUrl: data.REDIS_URL,
    eventStoreUrl: data.EVENTSTORE_URL,
    readDbUrl: data.READ_DB_URL,
    authTokens,
    devTokenInUse,
    nodeEnv: data.NODE_ENV,
    clockMode: data.CLOCK_MODE,
    clockStart: data.CLOCK_START,
    logLevel: data.LOG_LEVEL,
    reconcileIntervalMs: data.RECONCILE_INTERVAL_MS,
    purgeNoticeDays: data.PURGE_NOTICE_DAYS,
    shutdownDrainMs: data.SHUTDOWN_DRAIN_MS,
    keyEncryptionKey: data.KEY_ENCRYPTION_KEY,
    requestHashKey: data.REQUEST_HASH_KEY,
    receiptSigningKey: data.RECEIPT_SIGNING_KEY,
    receiptVerifyKeys: data.RECEIPT_VERIFY_KEYS ?? [],
  });
}

/**
 * AUTH_TOKENS is a JSON object keyed by token. Issues name entries by position and service,
 * never by token, so a typo does not put a secret into the start-up error.
 */
function parseAuthTokens(
  raw: string,
  nodeEnv: NodeEnv | undefined,
  issues: ConfigIssue[],
): AuthTokenGrant[] | undefined {
  const report = (message: string): undefined => {
    issues.push({ variable: 'AUTH_TOKENS', message });
    return undefined;
  };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return report('must be valid JSON: {"<token>": {"service": "<name>", "scopes": [...]}}');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return report('must be a JSON object mapping each token to {"service", "scopes"}');
  }
  const entries = Object.entries(json);
  if (entries.length === 0) return report('must define at least one token');

  const grants: AuthTokenGrant[] = [];
  const before = issues.length;
  entries.forEach(([token, value], index) => {
    const label = `entry ${index + 1}`;
    if (token.trim() === '' || token !== token.trim()) {
      report(`${label}: the token must be non-empty and have no surrounding spaces`);
    }
    if (token === DEV_TOKEN && nodeEnv === 'production') {
      report(`${label}: the development token "${DEV_TOKEN}" is refused when NODE_ENV=production`);
    }
    const grant = grantSchema.safeParse(value);
    if (!grant.success) {
      const service = serviceLabel(value);
      for (const issue of grant.error.issues) {
        const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
        report(`${label}${service}: ${where}${issue.message}`);
      }
      return;
    }
    grants.push({ token, service: grant.data.service, scopes: [...new Set(grant.data.scopes)] });
  });
  return issues.length > before ? undefined : grants;
}

function serviceLabel(value: unknown): string {
  const service =
    value !== null && typeof value === 'object'
      ? (value as Record<string, unknown>)['service']
      : undefined;
  return typeof service === 'string' ? ` (service "${service}")` : '';
}

/** Freezes plain objects and arrays only: luxon DateTimes cache lazily and Buffers cannot be frozen. */
function deepFreeze<T>(value: T): T {
  if (
    Array.isArray(value) ||
    (value !== null &&
      typeof value === 'object' &&
      Object.getPrototypeOf(value) === Object.prototype)
  ) {
    for (const child of Object.values(value as object)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
