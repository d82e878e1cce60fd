import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { NameSchema, type ModelList } from '@trainyard/contracts';
import { CatalogListsRepository } from '@trainyard/db';
import { z } from 'zod';
import { CurrentPrincipal } from '../auth/auth.decorators';
import { projectFilter, projectForWrites, type Principal } from '../auth/principal';
import { CatalogPageQuerySchema, type CatalogPageQueryParams } from '../catalog/catalog-page-query';
import { Responds } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { ModelsService } from './models.service';

/** The contracts' name rule: no control characters or lone surrogates, at most 120 characters. */
const ModelName = NameSchema;
const ModelRegistrationSchema = z.strictObject({ name: ModelName, runId: z.uuid().toLowerCase() });

@ApiTags('models')
@Controller('v1/models')
export class ModelsController {
  constructor(
    private readonly models: ModelsService,
    private readonly lists: CatalogListsRepository,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'Registered models by name, each with its version count and newest versions (the run and checkpoint of each); keyset pages',
  })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 100 (default 25)' })
  @ApiQuery({ name: 'cursor', required: false, description: 'The nextCursor of the previous page' })
  @Responds(200, 'ModelList')
  list(
    @Query(new ZodValidationPipe(CatalogPageQuerySchema, 'Invalid query')) query: CatalogPageQueryParams,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ModelList> {
    return this.lists.models({ ...query, project: projectFilter(principal) });
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary:
      "Name a SUCCEEDED run's model: the next version of the name, pinned to the run's best checkpoint (its latest complete one when it records no best)",
  })
  @Responds(201, 'ModelVersionRegistered', 'The new version')
  @ApiResponse({ status: 422, description: 'The run does not exist, has not SUCCEEDED, or has no complete checkpoint' })
  register(
    @Body(new ZodValidationPipe(ModelRegistrationSchema, 'Invalid model registration', { in: 'body' }))
    body: z.infer<typeof ModelRegistrationSchema>,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.models.register(body.name, body.runId, projectForWrites(principal));
  }

  @Get(':name/versions')
  @ApiOperation({ summary: 'Versions of a registered model, oldest first' })
  @Responds(200, 'ModelVersions')
  @ApiParam({ name: 'name' })
  versions(
    @Param('name', new ZodValidationPipe(ModelName, 'Invalid model name', { field: 'name' })) name: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.models.versions(name, projectForWrites(principal));
  }
}
