import type { IncomingMessage, ServerResponse } from 'node:http';
import { Body, Controller, Delete, HttpCode, Inject, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { TrainyardConfig } from '@trainyard/config';
import type { SessionView } from '@trainyard/contracts';
import { serialize } from 'cookie';
import { Responds, RespondsWithoutJson } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { SESSION_COOKIE } from './request-principal';
import { Public } from './auth.decorators';
import { SessionSchema } from './api-keys.dto';
import { addressSubject, RequestRateLimiter } from './request-rate.limiter';
import { CONFIG } from '@trainyard/infrastructure';

/** A browser session lasts a working day; the key itself stays valid until revoked. */
const SESSION_MAX_AGE_S = 12 * 60 * 60;

/**
 * The dashboard signs in by trading a key for a cookie that holds it: HttpOnly (no script can
 * read it), SameSite=Strict (no other site's page can send it), Secure behind TLS. The page's
 * requests send it, its live event streams included, which is how they authenticate.
 */
@ApiTags('keys')
@Controller('v1/session')
export class SessionController {
  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
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
    // As ApiKeyGuard: a failed sign-in spends the address's budget; past it, a key this process has
    // not proven is refused before it is looked up, and one it has still signs in.
    const address = addressSubject(req);
    if (this.config.auth.enabled && !this.authenticator.hasProven(body.key))
      await this.rateLimiter.refuseIfSpent(address, res);
    const principal = this.config.auth.enabled ? await this.authenticator.authenticate(body.key) : null;
    if (this.config.auth.enabled && !principal) {
      await this.rateLimiter.enforce(address, res);
      throw new UnauthorizedException({
        message: 'Invalid API key',
        errors: [{ field: 'key', message: 'Unknown or revoked API key' }],
      });
    }
    res.setHeader(
      'set-cookie',
      serialize(SESSION_COOKIE, body.key, {
        httpOnly: true,
        sameSite: 'strict',
        path: '/',
        maxAge: SESSION_MAX_AGE_S,
        secure: isTls(req),
      }),
    );
    return principal
      ? { name: principal.name, scopes: [...principal.scopes], project: principal.project }
      : { name: 'auth disabled', scopes: ['admin'], project: null };
  }

  @Delete()
  @Public()
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out: clears the session cookie' })
  @RespondsWithoutJson(204, 'no body')
  signOut(@Req() req: IncomingMessage, @Res({ passthrough: true }) res: ServerResponse): void {
    res.setHeader(
      'set-cookie',
      serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/', maxAge: 0, secure: isTls(req) }),
    );
  }
}

/** Behind a TLS-terminating proxy the request arrives as plain HTTP with `X-Forwarded-Proto: https`. */
function isTls(req: IncomingMessage): boolean {
  return 'encrypted' in req.socket || req.headers['x-forwarded-proto'] === 'https';
}
