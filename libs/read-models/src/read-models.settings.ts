import { z } from 'zod';
import { settingsFromEnv } from '@app/platform';

/** Settings of the read models that are not in AppConfig (READ_DB_URL and DATA_DIR are). */
export interface ReadModelsSettings {
  /** READ_MODEL_PROJECTOR: "off" leaves projecting to another process. Default on. */
  projector: boolean;
  /** READ_MODEL_MAX_WAIT_MS: longest `?minPosition=` wait (default 5000). */
  maxWaitMs: number;
  /** NOTIFY_WEBHOOK_URL: R16 confirmations are POSTed here (signed); unset = outbox only. */
  webhookUrl: string | undefined;
  /** NOTIFY_WEBHOOK_SECRET: HMAC key of the webhook signature (required with the URL). */
  webhookSecret: string | undefined;
  notifierIntervalMs: number;
}

const schema = z
  .object({
    READ_MODEL_PROJECTOR: z.enum(['on', 'off']).default('on'),
    READ_MODEL_MAX_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
    NOTIFY_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
    NOTIFY_WEBHOOK_SECRET: z.string().min(16).optional(),
    NOTIFY_INTERVAL_MS: z.coerce.number().int().min(10).default(1000),
  })
  .refine((e) => !e.NOTIFY_WEBHOOK_URL || e.NOTIFY_WEBHOOK_SECRET, {
    message: 'NOTIFY_WEBHOOK_SECRET (at least 16 characters) is required with NOTIFY_WEBHOOK_URL',
    path: ['NOTIFY_WEBHOOK_SECRET'],
  });

export function readModelsSettingsFromEnv(env: NodeJS.ProcessEnv): ReadModelsSettings {
  const e = settingsFromEnv(schema, env, 'read-model settings');
  return {
    projector: e.READ_MODEL_PROJECTOR === 'on',
    maxWaitMs: e.READ_MODEL_MAX_WAIT_MS,
    webhookUrl: e.NOTIFY_WEBHOOK_URL,
    webhookSecret: e.NOTIFY_WEBHOOK_SECRET,
    notifierIntervalMs: e.NOTIFY_INTERVAL_MS,
  };
}
