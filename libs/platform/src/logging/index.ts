export { createLogger, type CreateLoggerOptions } from './logger.factory';
export { REDACTED, SENSITIVE_KEYS, redactSensitive } from './redact';
