import type { IncomingMessage, ServerResponse } from 'node:http';
import { UnauthorizedException } from '@nestjs/common';
import { parse as parseCookies } from 'cookie';
import { SESSION_TOKEN_PATTERN } from '@trainyard/db';
import { ApiKeyAuthenticator, type Credential } from './api-key.authenticator';
import type { Principal } from './principal';
import { addressSubject, RequestRateLimiter } from './request-rate.limiter';

/** The dashboard's session cookie: a session token (never the key), HttpOnly and SameSite=Strict. */
export const SESSION_COOKIE = 'trainyard_key';
// The scheme's name is case-insensitive (RFC 9110, 11.1): `bearer` and `BEARER` are `Bearer`.
const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i;

/**
 * The live key a request presents (its principal, and the token that proved it), its budgets spent (the address's for a key that fails, else
 * the key's and its project's), or the 401 or 429 to answer. The guard's check, and that of the
 * routes served outside Nest (OpenAPI): before, those looked up every token they were sent,
 * unlimited, past the address's spent budget too.
 */
export async function requestPrincipal(
  request: IncomingMessage & { ip?: string },
  response: ServerResponse,
  authenticator: ApiKeyAuthenticator,
  rateLimiter: RequestRateLimiter,
): Promise<{ principal: Principal; credential: Credential }> {
  const credential = credentialOf(request);
  if (credential === undefined) {
    await rateLimiter.enforce(addressSubject(request), response);
    response.setHeader('www-authenticate', 'Bearer realm="trainyard"');
    throw new UnauthorizedException({
      message: 'An API key is required: send "Authorization: Bearer <key>"',
      errors: [{ field: 'Authorization', message: 'Missing' }],
    });
  }
  if (credential === null) {
    await rateLimiter.enforce(addressSubject(request), response);
    throw invalidKey(
      response,
      'Malformed: expected "Bearer <key>" with a key of visible ASCII characters, or a session cookie from POST /v1/session (sign in again)',
    );
  }
  const address = addressSubject(request);
  if (!authenticator.hasProven(credential)) await rateLimiter.refuseIfSpent(address, response);
  const principal = await authenticator.authenticate(credential);
  if (!principal) {
    await rateLimiter.enforce(address, response);
    throw invalidKey(
      response,
      credential.kind === 'key'
        ? 'Unknown or revoked API key'
        : 'Session ended, expired or of a revoked key: sign in again',
    );
  }
  await rateLimiter.enforce(`key:${principal.keyId}`, response);
  if (principal.project !== null) await rateLimiter.enforceProject(principal.project, response);
  return { principal, credential };
}

function invalidKey(response: ServerResponse, why: string): UnauthorizedException {
  response.setHeader('www-authenticate', 'Bearer realm="trainyard", error="invalid_token"');
  return new UnauthorizedException({
    message: 'Invalid API key',
    errors: [{ field: 'Authorization', message: why }],
  });
}

/**
 * What the request presents: a key from `Authorization: Bearer`, or a session token from the
 * cookie; undefined when neither, null when malformed. The header wins over the cookie.
 */
export function credentialOf(request: IncomingMessage): Credential | null | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const token = BEARER.exec(header)?.[1];
    return token === undefined ? null : { kind: 'key', token };
  }
  const session = sessionTokenOf(request);
  return typeof session === 'string' ? { kind: 'session', token: session } : session;
}

/**
 * The session token of the request's cookie: undefined when it has none, null when it is malformed.
 * A cookie holding anything but a session token — a key, as every cookie did before sessions — is
 * malformed: its browser signs in again, and a cookie copied before the upgrade is not a key.
 */
export function sessionTokenOf(request: IncomingMessage): string | null | undefined {
  const cookieHeader = request.headers.cookie;
  if (!cookieHeader) return undefined;
  let cookie: string | undefined;
  try {
    cookie = parseCookies(cookieHeader)[SESSION_COOKIE];
  } catch {
    return null;
  }
  if (cookie === undefined) return undefined;
  return SESSION_TOKEN_PATTERN.test(cookie) ? cookie : null;
}
