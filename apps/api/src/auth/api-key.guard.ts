import type { IncomingMessage, ServerResponse } from 'node:http';
import { ForbiddenException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { TrainyardConfig } from '@trainyard/config';
import type { ApiKeyScope } from '@trainyard/contracts';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { OpenRequestKeyCheck } from './open-request-key.check';
import { PUBLIC_ROUTE, REQUIRED_SCOPE, type PublicReason } from './auth.decorators';
import { provenEarly } from './authenticate-early';
import { AUTH_DISABLED_PRINCIPAL, hasScope, type AuthenticatedRequest } from './principal';
import { RequestRateLimiter } from './request-rate.limiter';
import { requestPrincipal } from './request-principal';
import { CONFIG } from '@trainyard/infrastructure';
import { hasBody } from '../http/http-hardening';

const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * The one global guard: every route needs a key with the route's scope unless it is marked
 * @Public. The key comes as `Authorization: Bearer <key>` or, for the dashboard and its event
 * streams, as the session cookie (a session of a key, never the key itself). Then the key's rate limit is spent, and its project's (the
 * project's keys together). A request that stays open
 * (a stream) is held by OpenRequestKeyCheck, which ends it once its key is revoked.
 *
 * A request whose key fails (none, malformed, unknown, revoked) spends its client address's
 * budget (RATE_LIMIT_PER_MINUTE). Once that is spent, a token this process has not proven a live
 * key is refused 429 before it is looked up, valid or not: a guesser gets that many tries a minute
 * per address and costs no lookup beyond them, and a 429 says nothing about the token. A key this
 * process has proven (ApiKeyAuthenticator.hasProven: no guesser can present one) still passes, so
 * the users behind the guesser's NAT or proxy who were working go on working; one whose key this
 * process has not seen yet waits for the address's minute to end (Retry-After).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly rateLimiter: RequestRateLimiter,
    private readonly openRequests: OpenRequestKeyCheck,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<IncomingMessage & AuthenticatedRequest>();
    const response = context.switchToHttp().getResponse<ServerResponse>();
    const targets = [context.getHandler(), context.getClass()];
    const publicReason = this.reflector.getAllAndOverride<PublicReason | undefined>(PUBLIC_ROUTE, targets);
    if (publicReason === 'always' || (publicReason === 'metrics' && this.config.api.metricsPublic)) return true;

    if (!this.config.auth.enabled) {
      requireClientMark(request);
      request.principal = AUTH_DISABLED_PRINCIPAL;
      return true;
    }
    const { principal, credential } =
      provenEarly(request) ?? (await requestPrincipal(request, response, this.authenticator, this.rateLimiter));
    // Proved by the session cookie, which a browser sends by itself (a header it never does).
    if (request.headers.authorization === undefined) requireClientMark(request);
    const scope =
      this.reflector.getAllAndOverride<ApiKeyScope | undefined>(REQUIRED_SCOPE, targets) ??
      (READ_METHODS.has(request.method ?? 'GET') ? 'read' : 'submit');
    if (!hasScope(principal, scope)) {
      throw new ForbiddenException({
        message: `This key lacks the "${scope}" scope`,
        errors: [
          {
            field: 'Authorization',
            message: `Scope "${scope}" required; the key has ${principal.scopes.join(', ') || 'none'}`,
          },
        ],
      });
    }
    request.principal = principal;
    this.openRequests.watch(response, credential, principal);
    return true;
  }
}

/** Sent by @trainyard/client on every change (trainyard-client-core.ts), so the dashboard's calls pass. */
const REQUESTED_WITH = 'x-requested-with';

/**
 * A change (POST, PUT, PATCH, DELETE) made with no body on the strength of something a browser
 * sends by itself (the session cookie, or nothing when auth is off) must carry X-Requested-With,
 * which no HTML form can send: a form of another page (another port of the same host, a sibling
 * subdomain, which SameSite=Strict lets through) cannot cancel, archive or drain. A change with a
 * body is held to JSON already (http-hardening.ts), which no form can send either.
 */
function requireClientMark(request: IncomingMessage): void {
  if (READ_METHODS.has(request.method ?? 'GET') || hasBody(request) || request.headers[REQUESTED_WITH] !== undefined)
    return;
  throw new ForbiddenException({
    message: 'A change made with the session cookie (or with auth off) and no body needs X-Requested-With',
    errors: [
      {
        field: 'X-Requested-With',
        message:
          'Missing: send it (any value), or an Authorization header; no HTML form of another site can send either',
      },
    ],
  });
}
