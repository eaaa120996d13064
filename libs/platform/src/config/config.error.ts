import { PlatformError } from '../errors/platform.error';

export interface ConfigIssue {
  readonly variable: string;
  readonly message: string;
}

/** Every bad variable at once, so an operator fixes the environment in one pass. */
export class ConfigError extends PlatformError {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      'CONFIG_INVALID',
      `Invalid environment (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  - ${i.variable}: ${i.message}`).join('\n'),
    );
  }
}
