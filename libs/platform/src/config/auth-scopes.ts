/** Every scope a token can carry (docs/http-api.md, Auth). */
export const AUTH_SCOPES = [
  'subscriptions:write',
  'subscriptions:read',
  'audit:read',
  /** The integration-event feed (GET /v1/events): product services that act on the end of life. */
  'events:read',
  'ops',
] as const;
export type AuthScope = (typeof AUTH_SCOPES)[number];

/** One entry of AUTH_TOKENS. */
export interface AuthTokenGrant {
  readonly token: string;
  readonly service: string;
  readonly scopes: readonly AuthScope[];
}

/** Accepted outside production when AUTH_TOKENS is unset, so a fresh checkout runs as is. */
export const DEV_TOKEN = 'dev-token';
