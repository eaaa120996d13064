export { loadConfig, type LoadConfigOptions } from './config.loader';
export { settingsFromEnv } from './settings-from-env';
export { ConfigError, type ConfigIssue } from './config.error';
export { AUTH_SCOPES, DEV_TOKEN, type AuthScope, type AuthTokenGrant } from './auth-scopes';
export {
  type AppConfig,
  type ClockMode,
  type LogLevel,
  type NodeEnv,
  CLOCK_MODES,
  DEFAULT_WORKER_HEALTH_PORT,
  LOG_LEVELS,
  NODE_ENVS,
} from './app-config';
