import type { IncomingMessage, ServerResponse } from 'node:http';
import { UnauthorizedException } from '@nestjs/common';
import { parse as parseCookies } from 'cookie';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import type { Principal } from './principal';
import { addressSubject, RequestRateLimiter } from './request-rate.limiter';

/** The dashboard's session cookie: the key itself, HttpOnly and SameSite=Strict. */
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
): Promise<{ principal: Principal; token: string }> {
  const token = tokenOf(request);
  if (token === undefined) {
    await rateLimiter.enforce(addressSubject(request), response);
    response.setHeader('www-authenticate', 'Bearer realm="trainyard"');
    throw new UnauthorizedException({
      message: 'An API key is required: send "Authorization: Bearer <key>"',
      errors: [{ field: 'Authorization', message: 'Missing' }],
    });
  }
  if (token === null) {
    await rateLimiter.enforce(addressSubject(request), response);
    throw invalidKey(response, 'Malformed: expected "Bearer <key>" with a key of visible ASCII characters');
  }
  const address = addressSubject(request);
  if (!authenticator.hasProven(token)) await rateLimiter.refuseIfSpent(address, response);
  const principal = await authenticator.authenticate(token);
  if (!principal) {
    await rateLimiter.enforce(address, response);
    throw invalidKey(response, 'Unknown or revoked API key');
  }
  await rateLimiter.enforce(`key:${principal.keyId}`, response);
  if (principal.project !== null) await rateLimiter.enforceProject(principal.project, response);
  return { principal, token };
}

function invalidKey(response: ServerResponse, why: string): UnauthorizedException {
  response.setHeader('www-authenticate', 'Bearer realm="trainyard", error="invalid_token"');
  return new UnauthorizedException({
    message: 'Invalid API key',
    errors: [{ field: 'Authorization', message: why }],
  });
}

/** The presented key: undefined when none, null when malformed. The header wins over the cookie. */
export function tokenOf(request: IncomingMessage): string | null | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return BEARER.exec(header)?.[1] ?? null;
  const cookieHeader = request.headers.cookie;
  if (!cookieHeader) return undefined;
  let cookie: string | undefined;
  try {
    cookie = parseCookies(cookieHeader)[SESSION_COOKIE];
  } catch {
    return null;
  }
  if (cookie === undefined) return undefined;
  return /^[\x21-\x7e]{1,512}$/.test(cookie) ? cookie : null;
}
