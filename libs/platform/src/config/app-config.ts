import type { KeyObject } from 'node:crypto';
import type { DateTime } from 'luxon';
import type { AuthTokenGrant } from './auth-scopes';

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export const CLOCK_MODES = ['system', 'controlled'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The conventional port of a Prometheus exporter; the standalone worker's health and metrics. */
export const DEFAULT_WORKER_HEALTH_PORT = 9464;

export type NodeEnv = (typeof NODE_ENVS)[number];
export type ClockMode = (typeof CLOCK_MODES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The validated environment (docs/http-api.md, "Other settings"). Frozen; unset optionals are undefined. */
export interface AppConfig {
  readonly port: number;
  /**
   * WORKER_HEALTH_PORT: where the standalone worker (`npm run start:worker`) serves /health/live,
   * /health/ready and /metrics; 0: a free port; null (`off`): no port. The api process (`npm
   * start` included) ignores it: its own port serves those routes.
   */
  readonly workerHealthPort: number | null;
  /** Absolute: DATA_DIR resolved against the working directory at load time. */
  readonly dataDir: string;
  /** Unset: the app starts a private redis-server under dataDir. */
  readonly redisUrl: string | undefined;
  /** Unset: the SQLite event store under dataDir. */
  readonly eventStoreUrl: string | undefined;
  /** Unset: SQLite read models; postgres://… for PostgreSQL. */
  readonly readDbUrl: string | undefined;
  /** Never log these; a list (not a map) so a guard can compare each in constant time. */
  readonly authTokens: readonly AuthTokenGrant[];
  /** True when AUTH_TOKENS was unset outside production: the caller must log a warning. */
  readonly devTokenInUse: boolean;
  readonly nodeEnv: NodeEnv;
  readonly clockMode: ClockMode;
  /** First reading of the controlled clock; undefined: the real time at start-up. */
  readonly clockStart: DateTime | undefined;
  readonly logLevel: LogLevel;
  readonly reconcileIntervalMs: number;
  /**
   * PURGE_NOTICE_DAYS (D7): the days before a purge at which a notice is issued, distinct whole
   * numbers from 1 to 89, most first. Default [30, 7]. Optional for configs built by hand.
   */
  readonly purgeNoticeDays?: readonly number[];
  /**
   * SHUTDOWN_DRAIN_MS: after SIGTERM/SIGINT the api (and the worker's health port) answers
   * /health/ready with 503 at once but keeps serving for this long before it closes, so that
   * Kubernetes stops routing to it first. 0 (default): close at once.
   */
  readonly shutdownDrainMs: number;
  /** 32 raw bytes decoded from base64. */
  readonly keyEncryptionKey: Buffer | undefined;
  /** HMAC key of idempotency fingerprints, 32 raw bytes decoded from base64. */
  readonly requestHashKey: Buffer | undefined;
  /**
   * RECEIPT_SIGNING_KEY (D11): the Ed25519 private key that signs the purge receipts. Required in
   * the production shape (NODE_ENV=production with READ_DB_URL or EVENTSTORE_URL); otherwise
   * unset means a key created once (docs/receipts.md). Optional for configs built by hand.
   */
  readonly receiptSigningKey?: KeyObject | undefined;
  /** RECEIPT_VERIFY_KEYS (D11): older Ed25519 public keys, still listed for verification. */
  readonly receiptVerifyKeys?: readonly KeyObject[];
}
