import { z } from 'zod';
import { settingsFromEnv } from '@app/platform';

/** How webhooks are delivered (docs/webhooks.md "Configuration"). */
export interface WebhookSettings {
  /** WEBHOOK_DISPATCHER: "off" keeps this process from ever delivering (default on). */
  dispatcher: boolean;
  /** WEBHOOK_TIMEOUT_MS: an attempt that has no answer by then fails (default 10 s). */
  timeoutMs: number;
  /** WEBHOOK_RETRY_WINDOW_MS: how long a delivery is retried before it is failed (3 days). */
  retryWindowMs: number;
  /** WEBHOOK_BACKOFF_BASE_MS: the first retry's delay (default 5 s), doubling per attempt… */
  backoffBaseMs: number;
  /** WEBHOOK_BACKOFF_MAX_MS: …up to this (default 1 h); each delay is jittered to 50–100 %. */
  backoffMaxMs: number;
  /** WEBHOOK_CONCURRENCY: requests in flight at once per endpoint (default 4). */
  concurrency: number;
  /** WEBHOOK_POLL_INTERVAL_MS: how often an idle endpoint looks for new events (default 500). */
  pollIntervalMs: number;
}

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const DAY = 86_400_000;

const schema = z.object({
  WEBHOOK_DISPATCHER: z.enum(['on', 'off']).default('on'),
  WEBHOOK_TIMEOUT_MS: int(100, 60_000, 10_000),
  WEBHOOK_RETRY_WINDOW_MS: int(1, 30 * DAY, 3 * DAY),
  WEBHOOK_BACKOFF_BASE_MS: int(1, DAY, 5000),
  WEBHOOK_BACKOFF_MAX_MS: int(1, DAY, 3_600_000),
  WEBHOOK_CONCURRENCY: int(1, 64, 4),
  WEBHOOK_POLL_INTERVAL_MS: int(10, 60_000, 500),
});

export function webhookSettingsFromEnv(env: NodeJS.ProcessEnv): WebhookSettings {
  const e = settingsFromEnv(schema, env, 'webhook settings');
  return {
    dispatcher: e.WEBHOOK_DISPATCHER === 'on',
    timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    retryWindowMs: e.WEBHOOK_RETRY_WINDOW_MS,
    backoffBaseMs: e.WEBHOOK_BACKOFF_BASE_MS,
    backoffMaxMs: Math.max(e.WEBHOOK_BACKOFF_MAX_MS, e.WEBHOOK_BACKOFF_BASE_MS),
    concurrency: e.WEBHOOK_CONCURRENCY,
    pollIntervalMs: e.WEBHOOK_POLL_INTERVAL_MS,
  };
}

/**
 * The delay before the retry that follows the `attempts`-th failed attempt: base × 2^(n−1),
 * capped, then jittered to 50–100 % of that (so endpoints recovering at once are not hit by
 * every retry in the same instant).
 */
export function retryDelayMs(
  settings: Pick<WebhookSettings, 'backoffBaseMs' | 'backoffMaxMs'>,
  attempts: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(
    settings.backoffMaxMs,
    settings.backoffBaseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40),
  );
  return Math.round(exp * (0.5 + random() * 0.5));
}
