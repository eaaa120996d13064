import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { AppConfig, AuthScope, AuthTokenGrant } from '@app/platform';
import { APP_CONFIG } from '@app/infrastructure';
import { ApiError } from './api-error';

export const SCOPE_KEY = 'auth:scope';
export const PUBLIC_KEY = 'auth:public';

/** The scope a route needs (docs/http-api.md). Every route without @Public() needs one. */
export const RequireScope = (scope: AuthScope) => SetMetadata(SCOPE_KEY, scope);
/** Health and metrics only. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export interface Caller {
  readonly service: string;
  readonly scopes: readonly AuthScope[];
}

type AuthenticatedRequest = FastifyRequest & { caller?: Caller };

/** The calling service, set by the guard. */
export const CurrentCaller = createParamDecorator((_: unknown, ctx: ExecutionContext): Caller => {
  const caller = ctx.switchToHttp().getRequest<AuthenticatedRequest>().caller;
  if (!caller) throw new ApiError('UNAUTHENTICATED', 'Missing bearer token.');
  return caller;
});

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/**
 * Bearer tokens from AUTH_TOKENS. The presented token is compared with every configured token in
 * constant time (digests of equal length, no early exit), so timing tells nothing about which
 * prefix matched. Tokens are never logged.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly grants: readonly { digest: Buffer; grant: AuthTokenGrant }[];

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.grants = config.authTokens.map((grant) => ({ digest: digest(grant.token), grant }));
  }

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const caller = this.authenticate(request.headers.authorization);
    const scope = this.reflector.getAllAndOverride<AuthScope | undefined>(SCOPE_KEY, targets);
    // A route that forgot to declare its scope is closed, not open.
    if (!scope || !caller.scopes.includes(scope))
      throw new ApiError(
        'FORBIDDEN_SCOPE',
        `This route needs the scope ${scope ?? '(undeclared)'}.`,
        {
          requiredScope: scope ?? null,
        },
      );
    request.caller = caller;
    return true;
  }

  private authenticate(header: string | undefined): Caller {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) throw new ApiError('UNAUTHENTICATED', 'Missing or malformed bearer token.');
    const presented = digest(match[1]!);
    let found: AuthTokenGrant | null = null;
    for (const { digest: known, grant } of this.grants) {
      if (timingSafeEqual(known, presented) && found === null) found = grant;
    }
    if (!found) throw new ApiError('UNAUTHENTICATED', 'Unknown bearer token.');
    return { service: found.service, scopes: found.scopes };
  }
}
