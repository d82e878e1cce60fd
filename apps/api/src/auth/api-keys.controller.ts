import type { ServerResponse } from 'node:http';
import {
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  Logger,
  Param,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { IDEMPOTENT_REPLAYED_HEADER, type ApiKeyList, type Whoami } from '@trainyard/contracts';
import { ApiKeysRepository } from '@trainyard/db';
import { Responds } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { ApiKeyIssuer } from './api-key.issuer';
import { CurrentPrincipal, RequireScope } from './auth.decorators';
import { OpenRequestKeyCheck } from './open-request-key.check';
import {
  ApiKeyCreationSchema,
  ApiKeyIdSchema,
  ApiKeyListQuerySchema,
  type ApiKeyCreationBody,
  type ApiKeyListQuery,
} from './api-keys.dto';
import { projectFilter, type Principal } from './principal';
import { notFound } from '../http/problems';

/**
 * Key administration (the `admin` scope), and `whoami` for any key. A project's admin key
 * administers its project's keys only: it creates keys confined to its project (never one for
 * every project, which would lift its own confinement; at most API_KEYS_MAX_PER_PROJECT live ones,
 * ApiKeyIssuer), and lists and revokes only those.
 */
@ApiTags('keys')
@Controller('v1')
export class ApiKeysController {
  private readonly logger = new Logger(ApiKeysController.name);

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly issuer: ApiKeyIssuer,
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly openRequests: OpenRequestKeyCheck,
  ) {}

  @Post('keys')
  @HttpCode(201)
  @RequireScope('admin')
  @ApiOperation({ summary: 'Create an API key; its token is in this answer only (it is stored hashed)' })
  @Responds(201, 'ApiKeyCreated', 'The key and its token')
  @ApiResponse({ status: 409, description: 'The project holds API_KEYS_MAX_PER_PROJECT live keys already' })
  async create(
    @Body(new ZodValidationPipe(ApiKeyCreationSchema, 'Invalid key', { in: 'body' })) body: ApiKeyCreationBody,
    @CurrentPrincipal() admin: Principal,
  ) {
    if (admin.project !== null && body.project !== undefined && body.project !== admin.project)
      throw new ForbiddenException({
        message: "A project's admin key creates keys for its own project only",
        errors: [
          {
            field: 'project',
            message: `This key belongs to project ${admin.project}; leave project out or give ${admin.project}`,
          },
        ],
      });
    const project = body.project ?? admin.project;
    const created = await this.issuer.issue({ name: body.name, scopes: body.scopes, project });
    this.logger.log(
      `API key ${created.key.id} "${body.name}" created by key ${admin.keyId}: scopes ${body.scopes.join(',')}, project ${project ?? '(all)'}`,
    );
    return created;
  }

  @Get('keys')
  @RequireScope('admin')
  @ApiOperation({
    summary:
      "API keys, newest first, a page at a time (never a token or hash); a project's admin key sees its project's",
  })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 100 (default 25)' })
  @ApiQuery({ name: 'cursor', required: false, description: 'The nextCursor of the previous page' })
  @ApiQuery({
    name: 'revoked',
    required: false,
    enum: ['true', 'false'],
    description: 'Only revoked, or only live, keys',
  })
  @Responds(200, 'ApiKeyList')
  list(
    @Query(new ZodValidationPipe(ApiKeyListQuerySchema, 'Invalid query')) query: ApiKeyListQuery,
    @CurrentPrincipal() admin: Principal,
  ): Promise<ApiKeyList> {
    return this.keys.page({ ...query, project: projectFilter(admin) });
  }

  @Delete('keys/:id')
  @RequireScope('admin')
  @ApiOperation({
    summary:
      'Revoke a key: refused from then on, its open streams ended (within 5 s on every replica); repeating is harmless',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Responds(
    200,
    'ApiKeyView',
    'The key, revoked (`Idempotent-Replayed: true` when it was revoked before: its first revokedAt)',
  )
  async revoke(
    @Param('id', new ZodValidationPipe(ApiKeyIdSchema, 'Invalid key id', { field: 'id' })) id: string,
    @CurrentPrincipal() admin: Principal,
    @Res({ passthrough: true }) res: ServerResponse,
  ) {
    // Another project's key (or an operator's) is the same 404 as an unknown one for a project's admin.
    const revocation = await this.keys.revocation(id, projectFilter(admin));
    if (!revocation) throw notFound('API key', id);
    const { key, already } = revocation;
    // Revoked before (its first revokedAt kept): the answer alone cannot tell, the header does.
    if (already) res.setHeader(IDEMPOTENT_REPLAYED_HEADER, 'true');
    this.authenticator.expireAll();
    this.logger.log(`API key ${id} revoked by key ${admin.keyId}`);
    // Its streams here at once; other replicas' at their next check, within KEY_CACHE_TTL_MS.
    this.openRequests.endRequestsOf(id);
    return key;
  }

  @Get('whoami')
  @ApiOperation({ summary: 'The key this request was made with: name, scopes, project' })
  @Responds(200, 'Whoami')
  whoami(@CurrentPrincipal() principal: Principal): Whoami {
    return { keyId: principal.keyId, name: principal.name, scopes: [...principal.scopes], project: principal.project };
  }
}
