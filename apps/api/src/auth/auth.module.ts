import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AdminKeyProvisioner } from './admin-key.provisioner';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyIssuer } from './api-key.issuer';
import { ApiKeysController } from './api-keys.controller';
import { OpenRequestKeyCheck } from './open-request-key.check';
import { ProjectOwnershipGuard } from './project-ownership.guard';
import { RequestRateLimiter } from './request-rate.limiter';
import { SessionController } from './session.controller';

/** API keys, scopes, projects and rate limits: the guards run on every route, in this order. */
@Module({
  controllers: [ApiKeysController, SessionController],
  providers: [
    ApiKeyAuthenticator,
    ApiKeyIssuer,
    OpenRequestKeyCheck,
    RequestRateLimiter,
    AdminKeyProvisioner,
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: ProjectOwnershipGuard },
  ],
  exports: [RequestRateLimiter],
})
export class AuthModule {}
