import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { NameSchema, type ModelList } from '@trainyard/contracts';
import { notFound } from '../http/problems';
import { CatalogListsRepository } from '@trainyard/db';
import { z } from 'zod';
import { CurrentPrincipal } from '../auth/auth.decorators';
import { ProjectNameSchema } from '../auth/api-keys.dto';
import { DEFAULT_PROJECT, projectFilter, type Principal } from '../auth/principal';
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
      "Name a SUCCEEDED run's model: the next version of the name in the run's project, pinned to the run's best checkpoint (its latest complete one when it records no best)",
  })
  @Responds(201, 'ModelVersionRegistered', 'The new version')
  @ApiResponse({ status: 422, description: 'The run does not exist, has not SUCCEEDED, or has no complete checkpoint' })
  register(
    @Body(new ZodValidationPipe(ModelRegistrationSchema, 'Invalid model registration', { in: 'body' }))
    body: z.infer<typeof ModelRegistrationSchema>,
    @CurrentPrincipal() principal: Principal,
  ) {
    // A project's key registers its own runs; an operator's, any run, under the run's project.
    return this.models.register(body.name, body.runId, principal.project);
  }

  @Get(':name/versions')
  @ApiOperation({ summary: 'Versions of a registered model, oldest first' })
  @Responds(200, 'ModelVersions')
  @ApiParam({ name: 'name' })
  @ApiQuery({
    name: 'project',
    required: false,
    description: "The model's project (names are per project): a key's own by default, else `default`",
  })
  versions(
    @Param('name', new ZodValidationPipe(ModelName, 'Invalid model name', { field: 'name' })) name: string,
    @Query('project', new ZodValidationPipe(ProjectNameSchema.optional(), 'Invalid project', { field: 'project' }))
    project: string | undefined,
    @CurrentPrincipal() principal: Principal,
  ) {
    // Another project's, for a project's key, is the same 404 as an unknown name.
    if (principal.project !== null && project !== undefined && project !== principal.project)
      throw notFound('model', name);
    return this.models.versions(name, principal.project ?? project ?? DEFAULT_PROJECT);
  }
}
