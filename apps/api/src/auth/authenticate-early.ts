import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { CONFIG } from '@trainyard/infrastructure';
import { ApiKeyAuthenticator, type Credential } from './api-key.authenticator';
import type { Principal } from './principal';
import { RequestRateLimiter } from './request-rate.limiter';
import { requestPrincipal } from './request-principal';
import { hasBody } from '../http/http-hardening';
import { ProblemDetailsFilter } from '../http/problem-details.filter';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** What a middleware proved of a request, for the guard to use instead of proving it again. */
const PROVEN = Symbol('trainyard.provenKey');
type Proven = { principal: Principal; credential: Credential };

/** The key `authenticateEarly` proved for this request, if it ran on it. */
export function provenEarly(request: IncomingMessage): Proven | undefined {
  return (request as IncomingMessage & { [PROVEN]?: Proven })[PROVEN];
}

/**
 * The guard's check of a request's key (ApiKeyGuard's `requestPrincipal`: the 401s and 429s, the
 * address's and key's budgets), made in a middleware, before anything else reads the request, for
 * the requests `applies` picks: those with a body to parse, and the OpenAPI routes served outside
 * Nest. Nest runs guards only after every middleware, the JSON body parser included, so a request
 * with no key, a wrong one, or from an address past its budget had its 1 MB body read and parsed
 * first: the API's CPU spent on anyone who reaches the port. Now it is answered before its body is
 * read; the guard then takes the key proven here (scopes, projects and everything else as before).
 * Nothing is checked with TRAINYARD_AUTH=off.
 */
export function authenticateEarly(app: INestApplication, applies: (req: IncomingMessage) => boolean): Middleware {
  const config = app.get<TrainyardConfig>(CONFIG);
  const authenticator = app.get(ApiKeyAuthenticator);
  const rateLimiter = app.get(RequestRateLimiter);
  const problems = new ProblemDetailsFilter();
  return (req, res, next) => {
    if (!config.auth.enabled || !applies(req)) return next();
    requestPrincipal(req, res, authenticator, rateLimiter).then(
      (proven) => {
        (req as IncomingMessage & { [PROVEN]?: Proven })[PROVEN] = proven;
        next();
      },
      // Outside Nest's pipeline, so outside its exception filter: answered in the same shape by it.
      (error: unknown) => problems.answer(error, req, res),
    );
  };
}

/**
 * Whether the JSON parser reads this request's body: it has one, and its method is not GET or
 * HEAD (no route reads a body there: one sent is never read, so the guard answers without it).
 */
export function bodyIsRead(req: IncomingMessage): boolean {
  return hasBody(req) && req.method !== 'GET' && req.method !== 'HEAD';
}

/**
 * The routes that take a body without a key: signing in (its body is the key). Express matches
 * paths case-insensitively and with or without a trailing slash, so this does too.
 */
const PUBLIC_BODY_PATHS = new Set(['/v1/session']);

export function isPublicBodyPath(url: string | undefined): boolean {
  const path = (url ?? '/').split('?')[0]!.toLowerCase().replace(/\/+$/, '');
  return PUBLIC_BODY_PATHS.has(path);
}
