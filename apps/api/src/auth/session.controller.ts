import type { IncomingMessage, ServerResponse } from 'node:http';
import { Body, Controller, Delete, HttpCode, Inject, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { TrainyardConfig } from '@trainyard/config';
import type { SessionView } from '@trainyard/contracts';
import { ApiKeySessionsRepository } from '@trainyard/db';
import { serialize } from 'cookie';
import { Responds, RespondsWithoutJson } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { ApiKeyAuthenticator, keyCredential } from './api-key.authenticator';
import { SESSION_COOKIE, sessionTokenOf } from './request-principal';
import { Public } from './auth.decorators';
import { SessionSchema } from './api-keys.dto';
import { addressSubject, RequestRateLimiter } from './request-rate.limiter';
import { CONFIG } from '@trainyard/infrastructure';

/** A browser session lasts a working day (its cookie and its row alike); the key stays valid until revoked. */
export const SESSION_MAX_AGE_S = 12 * 60 * 60;

/**
 * The dashboard signs in by trading a key for a session: the cookie holds a random session token,
 * never the key, HttpOnly (no script can read it), SameSite=Strict (no other site's page can send
 * it), Secure behind TLS. The page's requests send it, its live event streams included, which is
 * how they authenticate. The server holds the session (ApiKeySessionsRepository), so signing out
 * ends it for good, a copy of the cookie (a shared computer, a profile backup, a proxy log) dies
 * with it or with its key, and is never a key for `Authorization: Bearer`.
 */
@ApiTags('keys')
@Controller('v1/session')
export class SessionController {
  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly sessions: ApiKeySessionsRepository,
    private readonly rateLimiter: RequestRateLimiter,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  @Post()
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign in with an API key: sets the HttpOnly, SameSite=Strict session cookie the dashboard uses',
  })
  @Responds(200, 'SessionView', 'Signed in: who the cookie signs in as')
  @ApiResponse({ status: 401, description: 'Unknown or revoked key' })
  async signIn(
    @Body(new ZodValidationPipe(SessionSchema, 'Invalid sign-in', { in: 'body' })) body: { key: string },
    @Req() req: IncomingMessage,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<SessionView> {
    // With auth off every request acts as the admin: there is no key to hold a session of.
    if (!this.config.auth.enabled) return { name: 'auth disabled', scopes: ['admin'], project: null };
    // As ApiKeyGuard: a failed sign-in spends the address's budget; past it, a key this process has
    // not proven is refused before it is looked up, and one it has still signs in.
    const address = addressSubject(req);
    const key = keyCredential(body.key);
    if (!this.authenticator.hasProven(key)) await this.rateLimiter.refuseIfSpent(address, res);
    const principal = await this.authenticator.authenticate(key);
    if (!principal) {
      await this.rateLimiter.enforce(address, res);
      throw new UnauthorizedException({
        message: 'Invalid API key',
        errors: [{ field: 'key', message: 'Unknown or revoked API key' }],
      });
    }
    const session = await this.sessions.open(principal.keyId, SESSION_MAX_AGE_S * 1000);
    res.setHeader(
      'set-cookie',
      serialize(SESSION_COOKIE, session, {
        httpOnly: true,
        sameSite: 'strict',
        path: '/',
        maxAge: SESSION_MAX_AGE_S,
        secure: isTls(req),
      }),
    );
    return { name: principal.name, scopes: [...principal.scopes], project: principal.project };
  }

  @Delete()
  @Public()
  @HttpCode(204)
  @ApiOperation({ summary: "Sign out: ends the cookie's session on the server and clears the cookie" })
  @RespondsWithoutJson(204, 'no body')
  async signOut(@Req() req: IncomingMessage, @Res({ passthrough: true }) res: ServerResponse): Promise<void> {
    res.setHeader(
      'set-cookie',
      serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/', maxAge: 0, secure: isTls(req) }),
    );
    const session = sessionTokenOf(req);
    if (!this.config.auth.enabled || typeof session !== 'string') return;
    // A sign-out costs a database write for any token sent: held to the address's budget of failed
    // tokens as a sign-in is (a session this process has proven still signs out past it).
    const address = addressSubject(req);
    const credential = { kind: 'session', token: session } as const;
    if (!this.authenticator.hasProven(credential)) await this.rateLimiter.refuseIfSpent(address, res);
    this.authenticator.forget(credential);
    if (!(await this.sessions.end(session))) await this.rateLimiter.enforce(address, res);
  }
}

/** Behind a TLS-terminating proxy the request arrives as plain HTTP with `X-Forwarded-Proto: https`. */
function isTls(req: IncomingMessage): boolean {
  return 'encrypted' in req.socket || req.headers['x-forwarded-proto'] === 'https';
}
